"""The klines checks, per hour and in one step: 60 candles, no gaps or duplicates, sane OHLC (DuckDB on the
Parquet), the live stream's candles = the batch's (defs/klines/live), and raw = Parquet = ClickHouse."""

from datetime import datetime

from binance_assets.defs.klines.dataset import KLINES
from binance_assets.defs.klines.live.checks import KLINES_STREAM_AGREES
from binance_assets.defs.klines.outages import known_outage
from binance_assets.lib.hourly_checks import hourly_checks
from binance_assets.lib.lake_checks import LakeCheck, listed
from binance_assets.lib.partitions import MINUTE_MS, to_ms
from binance_assets.lib.verdicts import ERROR, WARN, Verdict

MINUTES = 60


def _minutes(times: list[int]) -> str:
    return listed(f"{(t // MINUTE_MS) % 60:02d}" for t in times)


def completeness_verdict(hour: datetime, open_times: list[int]) -> Verdict:
    """60 distinct minutes of this hour, no duplicates.

    A missing minute inside a known exchange outage is a warning (the exchange never produced
    it); any other missing minute is an error (a candle we lost). Binance's early-2018 history
    has candles opening off the minute boundary: they count for their minute and warn.
    """
    start = to_ms(hour)
    expected = {start + i * MINUTE_MS for i in range(MINUTES)}
    minutes = [t - t % MINUTE_MS for t in open_times]
    present = set(minutes)
    missing = sorted(expected - present)
    duplicates = len(minutes) - len(present)
    off_grid = sum(t % MINUTE_MS != 0 for t in open_times)
    outside = len(present - expected)
    outage = [t for t in missing if known_outage(t)]
    lost = [t for t in missing if not known_outage(t)]
    metadata = {
        "candles": len(open_times),
        "distinct_minutes": len(present & expected),
        "missing_minutes": len(missing),
        "duplicates": duplicates,
        "off_grid_candles": off_grid,
        "outside_the_hour": outside,
    }
    if lost:
        metadata["lost_minutes"] = _minutes(lost)
    if outage:
        metadata["exchange_outage_minutes"] = _minutes(outage)
        metadata["exchange_outage"] = known_outage(outage[0])
    passed = not (missing or duplicates or off_grid or outside)
    severity = ERROR if (lost or duplicates or outside) else WARN
    return Verdict(passed, severity, metadata)


KLINES_COMPLETE = LakeCheck(
    "klines_complete",
    "60 distinct 1-minute candles per symbol-hour: no gaps, no duplicates. Known exchange outages warn; "
    "any other gap is an error.",
    "list(epoch_ms(open_time))",
    lambda hour, figures: completeness_verdict(hour, figures[0] if figures else []),
)


OHLC_AGGREGATES = """
    count(*) AS candles,
    count(*) FILTER (WHERE low_price > least(open_price, close_price)
                     OR high_price < greatest(open_price, close_price)) AS bad_ohlc,
    count(*) FILTER (WHERE base_volume < 0 OR quote_volume < 0
                     OR taker_buy_base_volume < 0 OR taker_buy_quote_volume < 0) AS negative_volume,
    count(*) FILTER (WHERE epoch_ms(close_time) - epoch_ms(open_time) <> 59999) AS bad_close_time
"""


def _ohlc_verdict(hour: datetime, figures: tuple | None) -> Verdict:
    candles, bad_ohlc, negative, bad_close = figures or (0, 0, 0, 0)
    metadata = {"candles": candles, "bad_ohlc": bad_ohlc, "negative_volume": negative, "bad_close_time": bad_close}
    return Verdict(not (bad_ohlc or negative or bad_close), metadata=metadata)


KLINES_OHLC_VALID = LakeCheck(
    "klines_ohlc_valid",
    "low ≤ min(open, close), high ≥ max(open, close), volumes ≥ 0, close_time = open_time + 59,999 ms.",
    OHLC_AGGREGATES,
    _ohlc_verdict,
)


klines_checks = hourly_checks(KLINES, [KLINES_COMPLETE, KLINES_OHLC_VALID], other_checks=[KLINES_STREAM_AGREES])
