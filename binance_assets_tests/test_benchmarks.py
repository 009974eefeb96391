"""The benchmark's null pipeline stays the klines group's shape, so its floor stays comparable."""

import dagster as dg

from benchmarks.null_pipeline import defs as null_defs
from binance_assets.definitions import defs


def _shape(definitions: dg.Definitions) -> dict:
    """Assets, checks, and the steps that run them (which share a step, in which pool)."""
    graph = definitions.resolve_asset_graph()
    klines = [key for key in graph.get_all_asset_keys() if graph.get(key).group_name == "klines"]
    checks = [check for check in graph.asset_check_keys if check.asset_key in klines]
    steps = {
        d
        for d in graph.assets_defs
        if d.is_executable and (set(d.keys) & set(klines) or set(d.check_keys) & set(checks))
    }
    return {
        "assets": {
            key.to_user_string(): (
                sorted(dep.to_user_string() for dep in graph.get(key).parent_keys),
                graph.get(key).partitions_def,
                graph.get(key).backfill_policy,
            )
            for key in klines
        },
        "checks": sorted((check.asset_key.to_user_string(), check.name) for check in checks),
        "steps": sorted(
            (
                d.node_def.name,
                d.node_def.pool,
                sorted(k.to_user_string() for k in d.keys),
                sorted(c.name for c in d.check_keys),
            )
            for d in steps
        ),
    }


def test_the_null_pipeline_has_the_klines_groups_assets_checks_steps_and_pools():
    assert _shape(null_defs) == _shape(defs)
