"""``orders_parquet``: the account's orders of one symbol-hour, typed and exact, in orderId order."""

from datetime import UTC, datetime

import polars as pl

from binance_assets.checks import Verdict

from binance_assets.exchange.orders import raw_orders
from binance_assets.lake.checks import MAX_LISTED, PARQUET_FILES, hourly_lake_check
from binance_assets.lake.cleaning import from_raw_array, hourly_parquet
from binance_assets.lake.frames import exact_decimals, ms_timestamps
from binance_assets.partitions import HOUR_MS, to_ms

# allOrders field → clean column, the columns analysts join on first. Older orders lack the newer
# fields (workingTime, selfTradePreventionMode, …): those come out null.
FIELDS = {
    "symbol": "symbol", "orderId": "order_id", "price": "price", "origQty": "orig_qty",
    "executedQty": "executed_qty", "status": "status", "type": "type", "side": "side",
    "clientOrderId": "client_order_id", "cummulativeQuoteQty": "cummulative_quote_qty",
    "timeInForce": "time_in_force", "time": "time", "updateTime": "update_time",
    "orderListId": "order_list_id", "stopPrice": "stop_price", "icebergQty": "iceberg_qty",
    "origQuoteOrderQty": "orig_quote_order_qty", "isWorking": "is_working", "workingTime": "working_time",
    "selfTradePreventionMode": "self_trade_prevention_mode",
}  # fmt: skip
INTEGER_FIELDS = {"orderId", "orderListId", "time", "updateTime", "workingTime"}
DECIMAL_COLUMNS = [
    "price", "orig_qty", "executed_qty", "cummulative_quote_qty", "stop_price", "iceberg_qty", "orig_quote_order_qty",
]  # fmt: skip
TIME_COLUMNS = ["time", "update_time", "working_time", "fetched_at"]
RAW_SCHEMA = {
    field: pl.Int64 if field in INTEGER_FIELDS else pl.Boolean if field == "isWorking" else pl.String for field in FIELDS
}
CLEAN_COLUMNS = [*FIELDS.values(), "fetched_at"]


def orders_frame(symbol: str, orders: list[dict], fetched_at_ms: int) -> pl.DataFrame:
    """The clean orders of one symbol-hour, as the exchange last reported them."""
    frame = pl.DataFrame(orders, schema=RAW_SCHEMA).rename(FIELDS)
    strangers = frame.filter(pl.col("symbol") != symbol)["symbol"].unique().to_list()
    if strangers:
        raise ValueError(
            f"{symbol} orders: the raw file holds orders of {strangers}; it is corrupt — re-fetch the partition."
        )
    frame = exact_decimals(frame, DECIMAL_COLUMNS, f"{symbol} orders")
    frame = frame.with_columns(
        # Binance's documented "not available" markers: a negative cumulative quote quantity for some
        # historical orders, workingTime -1 for an order not yet working. Null says so honestly.
        cummulative_quote_qty=pl.when(pl.col("cummulative_quote_qty") >= 0).then(pl.col("cummulative_quote_qty")),
        working_time=pl.when(pl.col("working_time") >= 0).then(pl.col("working_time")),
        fetched_at=pl.lit(fetched_at_ms, pl.Int64),
    )
    return ms_timestamps(frame, TIME_COLUMNS).select(CLEAN_COLUMNS).sort("order_id")


orders_parquet = hourly_parquet(
    "orders",
    raw_orders,
    "Clean orders: order_id int64, exact Decimal(38,8) prices and quantities, UTC ms timestamps, in orderId order.",
    from_raw_array("orders", orders_frame),
)


# The values Binance documents for spot orders; a new one fails the check until it is added here.
KNOWN_VALUES = {
    "status": ("NEW", "PENDING_NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "PENDING_CANCEL", "REJECTED",
               "EXPIRED", "EXPIRED_IN_MATCH"),
    "type": ("LIMIT", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT", "LIMIT_MAKER"),
    "side": ("BUY", "SELL"),
}  # fmt: skip


def _listed(values) -> str:
    values = sorted(values or [])
    return ", ".join(map(str, values[:MAX_LISTED])) + (" …" if len(values) > MAX_LISTED else "")


def _unique_verdict(hour, figures) -> Verdict:
    orders, distinct, duplicated = figures or (0, 0, [])
    metadata = {"orders": orders, "distinct_order_ids": distinct, "duplicated_order_ids": _listed(duplicated)}
    return Verdict(orders == distinct, metadata=metadata)


orders_unique = hourly_lake_check(
    orders_parquet,
    "orders",
    "orders_unique",
    "Each order_id appears once per symbol-hour (and, created inside the hour, once per symbol).",
    "count(*), count(DISTINCT order_id), list(DISTINCT order_id) FILTER (WHERE copies > 1)",
    _unique_verdict,
    source=f"(SELECT *, count(*) OVER (PARTITION BY filename, order_id) AS copies FROM {PARQUET_FILES})",
)


def _quantities_verdict(hour, figures) -> Verdict:
    orders, overfilled, negative = figures or (0, [], [])
    overfilled, negative = overfilled or [], negative or []  # DuckDB's list() of no rows is NULL
    metadata = {
        "orders": orders,
        "executed_over_orig": len(overfilled),
        "negative_values": len(negative),
        "offending_order_ids": _listed({*overfilled, *negative}),
    }
    return Verdict(not (overfilled or negative), metadata=metadata)


orders_quantities_valid = hourly_lake_check(
    orders_parquet,
    "orders",
    "orders_quantities_valid",
    "executed_qty ≤ orig_qty, and no negative price or quantity.",
    "count(*), list(order_id) FILTER (WHERE executed_qty > orig_qty), "
    "list(order_id) FILTER (WHERE least(price, orig_qty, executed_qty) < 0)",
    _quantities_verdict,
)


def _known_values_verdict(hour, figures) -> Verdict:
    orders, *unknown = figures or (0, [], [], [])
    metadata = {"orders": orders}
    for column, values in zip(KNOWN_VALUES, unknown, strict=True):
        if values:
            metadata[f"unknown_{column}"] = _listed(values)
    if len(metadata) > 1:
        metadata["fix"] = "A value Binance added? Add it to KNOWN_VALUES in binance_assets/lake/orders.py."
    return Verdict(len(metadata) == 1, metadata=metadata)


orders_known_values = hourly_lake_check(
    orders_parquet,
    "orders",
    "orders_known_values",
    "status, type and side hold only the values Binance documents.",
    "count(*), "
    + ", ".join(
        f"list(DISTINCT {column}) FILTER (WHERE {column} NOT IN ({', '.join(repr(v) for v in values)}))"
        for column, values in KNOWN_VALUES.items()
    ),
    _known_values_verdict,
)


def _in_hour_verdict(hour, figures) -> Verdict:
    if not figures:
        return Verdict(metadata={"orders": 0})
    orders, first_id, first_ms, last_id, last_ms = figures
    start, end = to_ms(hour), to_ms(hour) + HOUR_MS
    metadata = {
        "orders": orders,
        "earliest": f"order {first_id} at {datetime.fromtimestamp(first_ms / 1000, UTC):%Y-%m-%d %H:%M:%S.%f}"[:-3],
        "latest": f"order {last_id} at {datetime.fromtimestamp(last_ms / 1000, UTC):%Y-%m-%d %H:%M:%S.%f}"[:-3],
    }
    return Verdict(start <= first_ms and last_ms < end, metadata=metadata)


orders_created_in_hour = hourly_lake_check(
    orders_parquet,
    "orders",
    "orders_created_in_hour",
    "Every order's creation time lies inside the partition's hour (UTC).",
    "count(*), arg_min(order_id, time), min(epoch_ms(time)), arg_max(order_id, time), max(epoch_ms(time))",
    _in_hour_verdict,
)
