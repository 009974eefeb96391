"""Orders in the lake: raw exactly as allOrders sent them, clean Parquet typed and exact, and the
lake checks failing on data that breaks their rule."""

import json
from decimal import Decimal

import dagster as dg
import polars as pl

from binance_assets.lib.partitions import parse_hour, to_ms
from binance_assets_tests.harness import evaluations

HOUR = "2024-02-29-21:00"
HOUR_MS = to_ms(parse_hour(HOUR))
FOLDER = "symbol=BTCUSDT/year=2024/month=02/day=29/hour=21"
FIRST_COLUMNS = ["symbol", "order_id", "price", "orig_qty", "executed_qty", "status", "type", "side"]
THEN_COLUMNS = ["client_order_id", "cummulative_quote_qty", "time_in_force", "time", "update_time"]
ORDER_CHECKS = ("orders_unique", "orders_quantities_valid", "orders_known_values", "orders_created_in_hour")
RECHECK = dg.AssetSelection.assets("orders_parquet", "clickhouse_orders")  # and their checks


def test_an_hour_lands_raw_as_sent_and_clean_with_exact_types(pipeline, stand_in, credentials):
    stand_in.generate_orders("BTCUSDT", HOUR_MS, HOUR_MS + 3_600_000, 1200, seed=7)
    unavailable = stand_in.add_orders(
        "BTCUSDT",
        [
            {
                "time": HOUR_MS + 5,
                "price": "12345678901.12345678",
                "origQty": "0.00000001",
                "cummulativeQuoteQty": "-1.00000000",
                "workingTime": -1,
                "isWorking": False,
            },
        ],
    )[0]
    result = pipeline.materialize(HOUR, group="orders", **credentials)

    served = [o for o in stand_in.orders("BTCUSDT") if HOUR_MS <= o["time"] < HOUR_MS + 3_600_000]
    raw_dir = pipeline.lake_dir / "raw/orders" / FOLDER
    assert json.loads((raw_dir / "orders.json").read_text()) == served
    assert json.loads((raw_dir / "_SUCCESS").read_text())["rows"] == 1201

    frame = pl.read_parquet(pipeline.lake_dir / "clean/orders" / FOLDER / "orders.parquet")
    assert frame.columns[:13] == FIRST_COLUMNS + THEN_COLUMNS
    assert frame.schema["order_id"] == pl.Int64
    assert all(
        frame.schema[c] == pl.Decimal(38, 8) for c in ("price", "orig_qty", "executed_qty", "cummulative_quote_qty")
    )
    assert all(frame.schema[c] == pl.String for c in ("status", "type", "side", "client_order_id", "time_in_force"))
    assert all(frame.schema[c] == pl.Datetime("ms", "UTC") for c in ("time", "update_time"))
    assert frame["order_id"].to_list() == [o["orderId"] for o in served]
    odd = frame.filter(pl.col("order_id") == unavailable["orderId"]).row(0, named=True)
    assert odd["price"] == Decimal("12345678901.12345678") and odd["orig_qty"] == Decimal("0.00000001")
    # Binance's "not available" markers become nulls, not fake numbers.
    assert odd["cummulative_quote_qty"] is None and odd["working_time"] is None

    for check in (*ORDER_CHECKS, "orders_reconciled"):
        verdict = evaluations(result, check)[HOUR]
        assert verdict.passed, (check, verdict.metadata)


def test_the_checks_catch_what_breaks_their_rule(pipeline, stand_in, credentials):
    good = stand_in.generate_orders("BTCUSDT", HOUR_MS, HOUR_MS + 3_600_000, 30, seed=8)
    bad = stand_in.add_orders(
        "BTCUSDT",
        [
            {"time": HOUR_MS + 1_000, "origQty": "1", "executedQty": "1.5", "status": "FILLED"},
            {"time": HOUR_MS + 2_000, "status": "SURPRISE", "type": "ICEBERG_DELUXE", "side": "HOLD"},
        ],
    )
    pipeline.materialize(HOUR, selection=["raw_orders"], **credentials)
    # A corrupt raw file: one order twice, another moved two hours earlier.
    raw = pipeline.lake_dir / "raw/orders" / FOLDER / "orders.json"
    orders = json.loads(raw.read_text())
    orders.append(dict(orders[0]))
    moved = next(o for o in orders if o["orderId"] == good[5]["orderId"])
    moved["time"] -= 2 * 3_600_000
    raw.write_text(json.dumps(orders))

    result = pipeline.materialize(HOUR, selection=RECHECK, **credentials)
    verdict = {check: evaluations(result, check)[HOUR] for check in (*ORDER_CHECKS, "orders_reconciled")}

    assert not any(v.passed for v in verdict.values())
    assert verdict["orders_unique"].metadata["duplicated_order_ids"].value == str(orders[0]["orderId"])
    assert verdict["orders_quantities_valid"].metadata["offending_order_ids"].value == str(bad[0]["orderId"])
    known = verdict["orders_known_values"].metadata
    assert (known["unknown_status"].value, known["unknown_type"].value, known["unknown_side"].value) == (
        "SURPRISE",
        "ICEBERG_DELUXE",
        "HOLD",
    )
    assert (
        verdict["orders_created_in_hour"]
        .metadata["earliest"]
        .value.startswith(f"order {moved['orderId']} at 2024-02-29 19:")
    )
    reconciled = verdict[
        "orders_reconciled"
    ].metadata  # the duplicate collapses in ClickHouse, the moved order leaves the hour
    assert (reconciled["raw_rows"].value, reconciled["parquet_rows"].value, reconciled["clickhouse_rows"].value) == (
        33,
        33,
        31,
    )
