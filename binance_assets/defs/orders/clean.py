"""``orders_parquet``: the account's orders of one symbol-hour, typed and exact, in orderId order."""

from typing import TYPE_CHECKING

from binance_assets.defs.orders.dataset import ORDERS
from binance_assets.lib.clean import from_raw_array, hourly_parquet
from binance_assets.lib.frames import exact_decimals, ms_timestamps

if TYPE_CHECKING:  # polars is imported by the step that builds the frames, not by every step process
    import polars as pl

# allOrders field → clean column, the columns analysts join on first. Older orders lack the newer
# fields (workingTime, selfTradePreventionMode, …) and every order lacks the conditional ones that do
# not apply to it (stopPrice off stop orders, icebergQty off iceberg orders, the STP fields
# preventedMatchId / preventedQuantity off orders expired by self-trade prevention): those come out
# null. A field not listed here stays in the raw JSON only.
FIELDS = {
    "symbol": "symbol",
    "orderId": "order_id",
    "price": "price",
    "origQty": "orig_qty",
    "executedQty": "executed_qty",
    "status": "status",
    "type": "type",
    "side": "side",
    "clientOrderId": "client_order_id",
    "cummulativeQuoteQty": "cummulative_quote_qty",
    "timeInForce": "time_in_force",
    "time": "time",
    "updateTime": "update_time",
    "orderListId": "order_list_id",
    "stopPrice": "stop_price",
    "icebergQty": "iceberg_qty",
    "origQuoteOrderQty": "orig_quote_order_qty",
    "isWorking": "is_working",
    "workingTime": "working_time",
    "selfTradePreventionMode": "self_trade_prevention_mode",
    "preventedMatchId": "prevented_match_id",
    "preventedQuantity": "prevented_quantity",
}
INTEGER_FIELDS = {"orderId", "orderListId", "time", "updateTime", "workingTime", "preventedMatchId"}
DECIMAL_COLUMNS = [
    "price",
    "orig_qty",
    "executed_qty",
    "cummulative_quote_qty",
    "stop_price",
    "iceberg_qty",
    "orig_quote_order_qty",
    "prevented_quantity",
]
TIME_COLUMNS = ["time", "update_time", "working_time", "fetched_at"]
CLEAN_COLUMNS = [*FIELDS.values(), "fetched_at"]


def orders_frame(symbol: str, orders: list[dict], fetched_at_ms: int) -> "pl.DataFrame":
    """The clean orders of one symbol-hour, as the exchange last reported them."""
    import polars as pl

    raw_schema = {
        field: pl.Int64 if field in INTEGER_FIELDS else pl.Boolean if field == "isWorking" else pl.String
        for field in FIELDS
    }
    frame = pl.DataFrame(orders, schema=raw_schema).rename(FIELDS)
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
    ORDERS,
    "Clean orders: order_id int64, exact Decimal(38,8) prices and quantities, UTC ms timestamps, in orderId order.",
    from_raw_array(ORDERS.name, orders_frame),
)
