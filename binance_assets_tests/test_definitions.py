"""The code location as users drive it from scripts: the real `dagster asset materialize` CLI."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from binance_assets.definitions import defs
from binance_assets_tests.harness import REPO, materialize_cli, warehouse_counts

DG = str(Path(sys.executable).parent / "dg")


def test_definitions_load_with_every_asset_and_check():
    graph = defs.resolve_asset_graph()
    assert {"raw_klines", "klines_parquet", "clickhouse_klines"} <= {
        k.to_user_string() for k in graph.get_all_asset_keys()
    }
    assert {"klines_complete", "klines_ohlc_valid", "klines_reconciled", "klines_stream_agrees"} <= {
        k.name for k in graph.asset_check_keys
    }
    assert {"klines_stream", "clickhouse_klines_stream"} <= {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert "klines_live_edge_fresh" in {k.name for k in graph.asset_check_keys}
    assert {
        "raw_orders",
        "orders_parquet",
        "clickhouse_orders",
        "raw_order_book",
        "order_book_parquet",
        "clickhouse_order_book",
        "exchange_info",
        "clickhouse_symbols",
    } <= {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {
        "orders_unique",
        "orders_quantities_valid",
        "orders_known_values",
        "orders_created_in_hour",
        "orders_reconciled",
        "order_book_snapshots_collected",
        "order_book_not_crossed",
        "order_book_levels_valid",
        "order_book_reconciled",
        "configured_symbols_trading",
    } <= {k.name for k in graph.asset_check_keys}


def test_cli_materialises_one_partition_and_its_checks(cli_env, stand_in):
    done = materialize_cli(cli_env, "--partition", "2024-02-29-22:00")

    assert done.returncode == 0, done.stderr[-3000:]
    assert "RUN_SUCCESS" in done.stderr
    assert done.stderr.count("ASSET_CHECK_EVALUATION") == 4 and "did not pass" not in done.stderr
    assert warehouse_counts(cli_env) == (120, 120)


@pytest.mark.parametrize("source", ["rest", "auto"])
def test_cli_partition_range_is_one_run_with_full_pages_or_archive_files(cli_env, stand_in, source):
    env = {**cli_env, "KLINES_SOURCE": source}
    done = materialize_cli(env, "--partition-range", "2024-02-28-00:00...2024-02-29-23:00")

    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.count("RUN_SUCCESS") == 1
    archive_files = [r.path for r in stand_in.requests if r.path.endswith(".zip")]
    if source == "rest":
        assert stand_in.count(path="/api/v3/klines") == 2 * 3 and not archive_files  # 2,880 candles: 3 pages each
    else:  # both days have ended on the exchange's clock: one daily file a symbol and day, no kline request
        assert stand_in.count(path="/api/v3/klines") == 0 and len(archive_files) == 2 * 2
    assert warehouse_counts(cli_env) == (2 * 2880, 2 * 2880)
    assert done.stderr.count("ASSET_CHECK_EVALUATION") == 4 * 48 and "did not pass" not in done.stderr


def test_cli_fetches_orders_with_keys_from_the_environment(cli_env, stand_in, credentials, tmp_path):
    stand_in.generate_orders("BTCUSDT", 1_709_244_000_000, 1_709_247_600_000, 1500, seed=31)  # 22:00–23:00
    env = {
        **cli_env,
        "BINANCE_API_KEY": os.environ["BINANCE_API_KEY"],
        "BINANCE_API_SECRET": os.environ["BINANCE_API_SECRET"],
    }
    done = materialize_cli(env, "--partition", "2024-02-29-22:00", select="raw_orders")

    assert done.returncode == 0, done.stderr[-3000:]
    manifest = tmp_path / "lake/raw/orders/symbol=BTCUSDT/year=2024/month=02/day=29/hour=22/_SUCCESS"
    assert json.loads(manifest.read_text())["rows"] == 1500
    assert env["BINANCE_API_KEY"] not in done.stderr + done.stdout
    assert env["BINANCE_API_SECRET"] not in done.stderr + done.stdout


def test_cli_orders_without_keys_fail_naming_the_variables(cli_env, stand_in):
    env = {k: v for k, v in cli_env.items() if k not in ("BINANCE_API_KEY", "BINANCE_API_SECRET")}
    done = materialize_cli(env, "--partition", "2024-02-29-22:00", select="raw_orders")

    assert done.returncode != 0
    assert "BINANCE_API_KEY and BINANCE_API_SECRET are not set" in done.stderr


def test_dg_launch_runs_the_main_job_with_the_run_as_its_first_line(cli_env, stand_in):
    """`dg launch` (what ./scripts/run-latest-hour runs): no warning before the run's own log."""
    done = subprocess.run(
        [DG, "launch", "--assets", "group:klines", "--partition", "2024-02-29-22:00"],
        cwd=REPO,
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    assert "RUN_START" in done.stderr.splitlines()[0] and "Warning" not in done.stderr
    assert done.stderr.count("ASSET_CHECK_EVALUATION") == 4 and "did not pass" not in done.stderr
    assert warehouse_counts(cli_env) == (120, 120)


def test_dg_lists_every_dataset_folder_s_definitions(cli_env):
    done = subprocess.run(
        [DG, "list", "defs", "--json"], cwd=REPO, env=cli_env, capture_output=True, text=True, timeout=300
    )

    assert done.returncode == 0, done.stderr[-3000:]
    listed = json.loads(done.stdout)
    assets = {asset["asset_key"] for asset in listed["assets"]}
    assert {"raw_klines", "clickhouse_orders", "order_book_parquet", "clickhouse_symbols"} <= assets
    assert {"klines_hourly", "order_book_snapshots_schedule", "symbols_daily"} <= {
        s["name"] for s in listed["schedules"]
    }


def binance_assets_launch(env: dict, *args: str) -> subprocess.CompletedProcess:
    """What ``scripts/run-latest-hour`` runs once the environment is set up."""
    command = [str(Path(sys.executable).parent / "binance-assets"), "launch", *args]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    ("args", "first_line"),
    [
        (
            ["--partition-range", "2024-03-02-00:00...2024-03-01-00:00"],
            "Partition range 2024-03-02-00:00...2024-03-01-00:00 is reversed: write the earlier hour first, "
            "2024-03-01-00:00...2024-03-02-00:00 (START...END, each YYYY-MM-DD-HH:00 UTC).",
        ),
        (
            ["--partition-range", "2024-03-01-00:00...2024-3-2"],
            "Partition key '2024-3-2' is not an hour: write YYYY-MM-DD-HH:00 (UTC), for example 2024-03-01-00:00.",
        ),
        (
            ["--partition", "2023-06-01-00:00"],
            "Partition key '2023-06-01-00:00' is outside the partitions: they run from 2024-01-01-00:00 "
            "(PARTITIONS_START) to ",
        ),
    ],
    ids=["reversed", "malformed-end", "outside"],
)
def test_the_wrapper_refuses_bad_partition_input_before_any_run(cli_env, stand_in, args, first_line):
    done = binance_assets_launch(cli_env, *args)

    assert done.returncode == 2
    assert done.stderr.startswith(f"binance-assets launch: {first_line}") and done.stderr.count("\n") == 1
    assert [p.name for p in Path(cli_env["DAGSTER_HOME"]).iterdir()] == ["dagster.yaml"]  # no run, no storage
    assert stand_in.count() == 0


def test_the_wrapper_runs_one_hour_of_the_klines_group_in_one_process(cli_env, tmp_path):
    done = binance_assets_launch(cli_env, "--partition", "2024-02-29-22:00")

    assert done.returncode == 0, done.stderr[-3000:]
    assert "Executing steps in process" in done.stderr and "Launching subprocess" not in done.stderr
    assert done.stderr.count("ASSET_CHECK_EVALUATION") == 4 and "did not pass" not in done.stderr
    assert warehouse_counts(cli_env) == (120, 120)


def test_the_wrapper_passes_other_arguments_to_dg_launch(cli_env, tmp_path):
    done = binance_assets_launch(cli_env, "--partition", "2024-02-29-22:00", "--assets", "raw_klines")

    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "lake/raw/klines/symbol=ETHUSDT/year=2024/month=02/day=29/hour=22/_SUCCESS").exists()
    assert not (tmp_path / "lake/clean").exists()


def test_plain_cli_with_a_reversed_range_fails_its_first_step_at_once_without_a_request(cli_env, stand_in):
    # Dagster checks each end of a range but not their order, so it creates the run; our first step refuses it.
    done = materialize_cli(cli_env, "--partition-range", "2024-03-02-00:00...2024-03-01-00:00")

    assert done.returncode != 0
    assert (
        "binance_assets.errors.InvalidInputError: Partition range 2024-03-02-00:00...2024-03-01-00:00 is reversed"
        in (done.stderr)
    )
    assert "STEP_UP_FOR_RETRY" not in done.stderr and stand_in.count() == 0
