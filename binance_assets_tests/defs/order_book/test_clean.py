"""The hour's order-book snapshots as Parquet rows: exact levels, checks that catch a broken book,
and an hour without snapshots reported rather than invented."""

import json
from decimal import Decimal

import dagster as dg
import polars as pl

from binance_assets_tests.harness import ORDER_BOOK_FOLDER as FOLDER
from binance_assets_tests.harness import ORDER_BOOK_HOUR as HOUR
from binance_assets_tests.harness import ORDER_BOOK_HOURLY as HOURLY
from binance_assets_tests.harness import evaluations, take_snapshots

CLEAN = "clean/order_book/symbol=BTCUSDT/year=2024/month=02/day=29/hour=22/order_book.parquet"
BOOK_CHECKS = ("order_book_not_crossed", "order_book_levels_valid", "order_book_reconciled")


def test_snapshots_become_one_row_per_level_and_pass_the_book_checks(live_pipeline):
    take_snapshots(live_pipeline, 3)
    result = live_pipeline.materialize(HOUR, selection=HOURLY)

    frame = pl.read_parquet(live_pipeline.lake_dir / CLEAN)
    assert frame.columns == ["symbol", "snapshot_time", "last_update_id", "side", "level", "price", "quantity"]
    assert frame.schema["snapshot_time"] == pl.Datetime("ms", "UTC")
    assert frame.schema["price"] == frame.schema["quantity"] == pl.Decimal(38, 8)
    assert frame.height == 3 * 200 and frame["snapshot_time"].n_unique() == 3
    folder = live_pipeline.lake_dir / FOLDER.format("BTCUSDT")
    first = json.loads((folder / json.loads((folder / "_SUCCESS").read_text())["files"][0]["file"]).read_text())
    rows = frame.filter(pl.col("snapshot_time") == frame["snapshot_time"].min(), pl.col("side") == "ask")
    assert [[f"{p:.8f}", f"{q:.8f}"] for p, q in rows.sort("level").select("price", "quantity").rows()] == first["asks"]

    for check in BOOK_CHECKS:
        assert evaluations(result, check)[HOUR].passed, check
    for verdict in evaluations(result, "order_book_snapshots_collected").values():  # names what it checked
        assert verdict.target_materialization_data.run_id == result.run_id
    collected = evaluations(result, "order_book_snapshots_collected")[HOUR]  # 3 of the schedule's 12
    assert (collected.passed, collected.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert (collected.metadata["snapshots"].value, collected.metadata["expected_by_schedule"].value) == (3, 12)


def test_an_hour_without_snapshots_is_reported_not_invented(live_pipeline, clickhouse_query):
    result = live_pipeline.materialize("2024-02-29-20:00", selection=HOURLY)

    materialized = result.asset_materializations_for_node("order_book_parquet")[0]
    assert materialized.metadata["empty_hours"].value == ["BTCUSDT 2024-02-29 20:00"]
    collected = evaluations(result, "order_book_snapshots_collected")["2024-02-29-20:00"]
    assert (collected.passed, collected.severity) == (False, dg.AssetCheckSeverity.ERROR)
    assert live_pipeline.stand_in.count(path="/api/v3/depth") == 0  # the past is not fetched
    assert evaluations(result, "order_book_reconciled")["2024-02-29-20:00"].passed  # 0 = 0 = 0
    assert clickhouse_query("SELECT count() FROM binance.order_book") == [(0,)]


def test_a_crossed_disordered_or_negative_book_fails_its_checks(live_pipeline):
    take_snapshots(live_pipeline, 2)
    folder = live_pipeline.lake_dir / FOLDER.format("BTCUSDT")
    damaged = folder / json.loads((folder / "_SUCCESS").read_text())["files"][1]["file"]
    book = json.loads(damaged.read_text())
    book["bids"][0][0] = str(Decimal(book["asks"][0][0]) + 1)  # best bid above best ask
    book["asks"][5], book["asks"][6] = book["asks"][6], book["asks"][5]  # two ask levels swapped
    book["asks"][9][1] = "-0.50000000"
    damaged.write_text(json.dumps(book))

    result = live_pipeline.materialize(HOUR, selection=HOURLY)
    crossed = evaluations(result, "order_book_not_crossed")[HOUR]
    levels = evaluations(result, "order_book_levels_valid")[HOUR]

    assert not crossed.passed and crossed.metadata["crossed_snapshots"].value == 1
    assert not levels.passed
    assert levels.metadata["out_of_order_levels"].value == 1  # ask 7 now priced below ask 6
    assert levels.metadata["negative_quantities"].value == 1
    assert levels.metadata["misnumbered_levels"].value == 0
