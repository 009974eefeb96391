"""Orders in ClickHouse: one row per order, always its newest state, whatever is re-fetched."""

import re
from decimal import Decimal

import dagster as dg

from binance_assets.defs.orders.checks import KNOWN_VALUES
from binance_assets.defs.orders.dataset import ORDERS
from binance_assets.lib.partitions import parse_hour, to_ms
from binance_assets_tests.harness import STAND_IN_NOW_MS, Pipeline, evaluations
from binance_stand_in import ExchangeStandIn, SymbolSpec

HOUR = "2024-02-29-21:00"
HOUR_MS = to_ms(parse_hour(HOUR))
COUNTS = "SELECT count(), uniqExact(symbol, order_id) FROM binance.orders FINAL"
STATES = "SELECT order_id, status, executed_qty, update_time FROM binance.orders FINAL WHERE order_id IN {ids:Array(Int64)} ORDER BY order_id"


def test_an_hour_of_2300_orders_lands_once_and_reconciles(pipeline, stand_in, credentials, clickhouse_query):
    stand_in.generate_orders("BTCUSDT", HOUR_MS, HOUR_MS + 3_600_000, 2300, seed=11, same_ms_share=0.5)
    result = pipeline.materialize(HOUR, group="orders", **credentials)

    assert clickhouse_query(COUNTS) == [(2300, 2300)]
    reconciled = evaluations(result, "orders_reconciled")[HOUR]
    assert reconciled.passed and reconciled.metadata["clickhouse_rows"].value == 2300


def test_refetching_an_hour_keeps_only_each_orders_newest_state(pipeline, stand_in, credentials, clickhouse_query):
    orders = stand_in.generate_orders("BTCUSDT", HOUR_MS, HOUR_MS + 3_600_000, 200, seed=12)
    pending = [o for o in orders if o["status"] == "NEW"][:3]
    ids = [o["orderId"] for o in pending]
    pipeline.materialize(HOUR, group="orders", **credentials)
    assert {row[1] for row in clickhouse_query(STATES, ids=ids)} == {"NEW"}

    filled_at = HOUR_MS + 3 * 3_600_000
    for order in pending:  # filled an hour after the first fetch
        stand_in.update_order(
            "BTCUSDT", order["orderId"], status="FILLED", executed_qty=order["origQty"], update_time=filled_at
        )
    pipeline.materialize(HOUR, group="orders", **credentials)
    newest = clickhouse_query(STATES, ids=ids)
    assert [(status, f"{qty:.8f}") for _, status, qty, _ in newest] == [("FILLED", o["origQty"]) for o in pending]

    # An answer carrying an older state (a lagging replica) arrives last: the version still decides.
    stand_in.update_order("BTCUSDT", ids[0], status="NEW", executed_qty="0", update_time=filled_at - 60_000)
    pipeline.materialize(HOUR, group="orders", **credentials)
    assert clickhouse_query(STATES, ids=ids) == newest

    assert clickhouse_query(COUNTS) == [(200, 200)]
    clickhouse_query("OPTIMIZE TABLE binance.orders FINAL")
    assert clickhouse_query("SELECT count() FROM binance.orders") == [(200,)]  # merged away, not just hidden


def test_a_range_run_writes_every_hour_including_quiet_ones(pipeline, stand_in, credentials, clickhouse_query):
    pipeline.symbols = "BTCUSDT,ETHUSDT"
    stand_in.generate_orders("BTCUSDT", HOUR_MS - 26 * 3_600_000, HOUR_MS - 20 * 3_600_000, 400, seed=13)
    stand_in.generate_orders("ETHUSDT", HOUR_MS - 2 * 3_600_000, HOUR_MS, 50, seed=14)
    result = pipeline.materialize(
        "2024-02-27-21:00", last="2024-02-29-20:00", group="orders", **credentials
    )  # 48 hours

    assert result.success
    assert clickhouse_query("SELECT symbol, count() FROM binance.orders FINAL GROUP BY symbol ORDER BY symbol") == [
        ("BTCUSDT", 400),
        ("ETHUSDT", 50),
    ]
    assert stand_in.count(path="/api/v3/allOrders") == 2 * 2  # two 24-hour windows a symbol
    for check in ("orders_reconciled", "orders_created_in_hour", "orders_unique"):
        verdicts = evaluations(result, check)
        assert len(verdicts) == 48 and all(v.passed for v in verdicts.values()), check
        # each hour's result names that hour's materialization, so the UI counts it for the hour
        assert {v.target_materialization_data.run_id for v in verdicts.values()} == {result.run_id}, check


def test_without_credentials_orders_fail_clearly_and_klines_still_run(pipeline, stand_in, monkeypatch):
    monkeypatch.delenv("BINANCE_API_KEY", raising=False)
    monkeypatch.delenv("BINANCE_API_SECRET", raising=False)
    failed = pipeline.materialize(HOUR, group="orders", raise_on_error=False)

    assert not failed.success
    failure = next(e for e in failed.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert failure.step_key == "raw_orders"
    message = str(failure.event_specific_data.error)
    assert "MissingCredentialsError" in message and "BINANCE_API_KEY and BINANCE_API_SECRET are not set" in message
    assert stand_in.count(path="/api/v3/allOrders") == 0

    assert pipeline.materialize(HOUR).success  # the klines group, on the same resources


# allOrders field → orders column, for comparing what the exchange sent with what ClickHouse holds.
AS_SENT = {
    "orderId": "order_id",
    "price": "price",
    "origQty": "orig_qty",
    "executedQty": "executed_qty",
    "cummulativeQuoteQty": "cummulative_quote_qty",
    "status": "status",
    "type": "type",
    "stopPrice": "stop_price",
    "icebergQty": "iceberg_qty",
    "origQuoteOrderQty": "orig_quote_order_qty",
    "preventedMatchId": "prevented_match_id",
    "preventedQuantity": "prevented_quantity",
}
AMOUNTS = {"price", "origQty", "executedQty", "cummulativeQuoteQty", "stopPrice", "icebergQty", "origQuoteOrderQty"}
AMOUNTS |= {"preventedQuantity"}


def as_stored(field: str, value):
    """A value as sent, as ClickHouse returns it: absent → null, amounts as Decimal, -1 markers → null."""
    if value is None or field not in AMOUNTS:
        return value
    amount = Decimal(value)
    return None if amount < 0 else amount  # Binance's "not available" marker


def test_every_real_order_shape_lands_exactly_even_in_an_older_table(tmp_path):
    # 1-decimal quantities and 6-decimal prices; conditional fields only where they apply; STP fields.
    ltcbtc = SymbolSpec.make("LTCBTC", base_precision=1, quote_precision=6)
    with ExchangeStandIn(symbols=(ltcbtc,), now_ms=STAND_IN_NOW_MS) as exchange:
        exchange.add_api_key("variantskey", "variantssecret")
        sent = exchange.generate_orders("LTCBTC", HOUR_MS, HOUR_MS + 3_600_000, 800, seed=21)
        pipeline = Pipeline(exchange, tmp_path, symbols="LTCBTC")
        # The table as created before the STP columns were kept.
        older_ddl = re.sub(r"\n\s+prevented_\w+ [^\n]+", "", ORDERS.table.ddl)
        assert "prevented" not in older_ddl
        pipeline.query("CREATE DATABASE binance")
        pipeline.query(older_ddl.format(database="binance"))
        result = pipeline.materialize(HOUR, group="orders", api_key="variantskey", api_secret="variantssecret")

    assert {o["status"] for o in sent} >= {"EXPIRED_IN_MATCH", "PARTIALLY_FILLED", "PENDING_CANCEL", "REJECTED"}
    assert {o["type"] for o in sent} == set(KNOWN_VALUES["type"])
    assert any("preventedMatchId" in o for o in sent) and any("stopPrice" not in o for o in sent)
    assert all(len(o["origQty"].split(".")[1]) == 1 and len(o["price"].split(".")[1]) == 6 for o in sent)
    stored = pipeline.query(f"SELECT {', '.join(AS_SENT.values())} FROM binance.orders FINAL ORDER BY order_id")
    assert stored == [
        tuple(as_stored(field, order.get(field)) for field in AS_SENT)
        for order in sorted(sent, key=lambda o: o["orderId"])
    ]
    for check in ("orders_unique", "orders_quantities_valid", "orders_known_values", "orders_created_in_hour"):
        assert evaluations(result, check)[HOUR].passed, check
    assert evaluations(result, "orders_reconciled")[HOUR].metadata["clickhouse_rows"].value == 800
