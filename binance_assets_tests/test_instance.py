"""The local Dagster instance (dagster.yaml) under Dagster 1.13, and the pools every step relies on."""

import shutil
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.instance.config import PoolGranularity
from dagster._core.run_coordinator import QueuedRunCoordinator

from binance_assets.definitions import defs
from binance_assets.lib.retries import EXCHANGE_RETRY_POLICY

REPO = Path(__file__).resolve().parents[1]
EXCHANGE_KIND = "binance"  # assets of this kind call the exchange
# Deliberately outside the pool and without step retries: a snapshot cannot be taken later, so it
# must not wait behind a backfill; the next tick is its retry; its weight (5) fits the governors'
# headroom, as every governor reads the IP's used weight from each response.
LIVE_SNAPSHOTS = {"raw_order_book"}


@pytest.fixture
def instance(tmp_path):
    shutil.copy(REPO / "dagster.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        yield instance


def test_the_committed_dagster_home_is_the_root_dagster_yaml():
    link = REPO / ".dagster_home" / "dagster.yaml"
    assert link.is_symlink() and link.resolve() == (REPO / "dagster.yaml").resolve()


def test_dagster_yaml_loads_with_a_run_queue_pools_retries_and_monitoring(instance):
    concurrency = instance.get_concurrency_config()

    assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
    assert concurrency.run_queue_config.max_concurrent_runs == 4
    assert concurrency.pool_config.default_pool_limit == 1
    assert concurrency.pool_config.pool_granularity == PoolGranularity.OP
    assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
    assert not instance.run_retries_retry_on_asset_or_op_failure  # failed steps: their RetryPolicy decides
    assert instance.run_monitoring_enabled
    assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] > 0
    assert not instance.nux_enabled and not instance.telemetry_enabled


@pytest.mark.parametrize("pool", ["clickhouse", "binance_api"])
def test_a_pool_admits_one_step_at_a_time_across_runs(instance, pool):
    storage = instance.event_log_storage
    assert storage.supports_global_concurrency_limits  # the SQLite storage enforces pools
    storage.initialize_concurrency_limit_to_default(pool)  # what a step's first claim does

    assert storage.claim_concurrency_slot(pool, "run-a", "step").is_claimed
    assert not storage.claim_concurrency_slot(pool, "run-b", "step").is_claimed
    storage.free_concurrency_slot_for_step("run-a", "step")
    assert storage.claim_concurrency_slot(pool, "run-b", "step").is_claimed


def steps() -> list[dg.AssetsDefinition]:
    """Every asset and check step of the code location."""
    return [d for d in defs.resolve_asset_graph().assets_defs if d.is_executable]


def test_every_step_that_opens_the_warehouse_is_in_the_clickhouse_pool():
    warehouse_steps = {d.node_def.name: d.node_def.pool for d in steps() if "warehouse" in d.required_resource_keys}
    assert {"clickhouse_klines", "klines_checks", "orders_checks", "order_book_checks"} <= set(warehouse_steps)
    assert warehouse_steps == dict.fromkeys(warehouse_steps, "clickhouse")


def test_every_exchange_facing_asset_shares_the_weight_budget_and_retries():
    exchange_steps = [d for d in steps() if any(EXCHANGE_KIND in spec.kinds for spec in d.specs)]
    assert {"raw_klines", "raw_orders", "exchange_info"} <= {d.node_def.name for d in exchange_steps}
    for step in exchange_steps:
        if step.node_def.name in LIVE_SNAPSHOTS:
            continue
        assert step.node_def.pool == "binance_api", step.node_def.name
        assert step.node_def.retry_policy == EXCHANGE_RETRY_POLICY, step.node_def.name
