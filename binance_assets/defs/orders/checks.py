"""The orders checks, per hour and in one step: unique ids, sane quantities, documented values, created in the
hour (DuckDB on the Parquet), and raw = Parquet = ClickHouse."""

from datetime import UTC, datetime

from binance_assets.defs.orders.dataset import ORDERS
from binance_assets.lib.hourly_checks import hourly_checks
from binance_assets.lib.lake_checks import PARQUET_FILES, LakeCheck, listed
from binance_assets.lib.partitions import HOUR_MS, to_ms
from binance_assets.lib.verdicts import Verdict

# The values Binance documents for spot orders; a new one fails the check until it is added here.
KNOWN_VALUES = {
    "status": (
        "NEW",
        "PENDING_NEW",
        "PARTIALLY_FILLED",
        "FILLED",
        "CANCELED",
        "PENDING_CANCEL",
        "REJECTED",
        "EXPIRED",
        "EXPIRED_IN_MATCH",
    ),
    "type": ("LIMIT", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT", "LIMIT_MAKER"),
    "side": ("BUY", "SELL"),
}


def _unique_verdict(hour, figures) -> Verdict:
    orders, distinct, duplicated = figures or (0, 0, [])
    metadata = {"orders": orders, "distinct_order_ids": distinct, "duplicated_order_ids": listed(duplicated)}
    return Verdict(orders == distinct, metadata=metadata)


ORDERS_UNIQUE = LakeCheck(
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
        "offending_order_ids": listed({*overfilled, *negative}),
    }
    return Verdict(not (overfilled or negative), metadata=metadata)


ORDERS_QUANTITIES_VALID = LakeCheck(
    "orders_quantities_valid",
    "executed_qty ≤ orig_qty, and no negative price or quantity.",
    "count(*), list(order_id) FILTER (WHERE executed_qty > orig_qty), "
    "list(order_id) FILTER (WHERE least(price, orig_qty, executed_qty, prevented_quantity) < 0)",
    _quantities_verdict,
)


def _known_values_verdict(hour, figures) -> Verdict:
    orders, *unknown = figures or (0, [], [], [])
    metadata = {"orders": orders}
    for column, values in zip(KNOWN_VALUES, unknown, strict=True):
        if values:
            metadata[f"unknown_{column}"] = listed(values)
    if len(metadata) > 1:
        metadata["fix"] = "A value Binance added? Add it to KNOWN_VALUES in binance_assets/defs/orders/checks.py."
    return Verdict(len(metadata) == 1, metadata=metadata)


ORDERS_KNOWN_VALUES = LakeCheck(
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


ORDERS_CREATED_IN_HOUR = LakeCheck(
    "orders_created_in_hour",
    "Every order's creation time lies inside the partition's hour (UTC).",
    "count(*), arg_min(order_id, time), min(epoch_ms(time)), arg_max(order_id, time), max(epoch_ms(time))",
    _in_hour_verdict,
)


orders_checks = hourly_checks(
    ORDERS, [ORDERS_UNIQUE, ORDERS_QUANTITIES_VALID, ORDERS_KNOWN_VALUES, ORDERS_CREATED_IN_HOUR]
)
