"""Lake-side checks of the clean Parquet, verified with DuckDB — an engine independent of the
polars code that wrote the files. ``hourly_lake_check`` builds one for any dataset; the klines
checks are here, the other datasets' beside their assets."""

from collections.abc import Callable
from datetime import datetime

import dagster as dg
from dagster_duckdb import DuckDBResource

from binance_assets.checks import ERROR, WARN, HourlyVerdicts, Verdict, missing_file
from binance_assets.exchange.maintenance import known_outage
from binance_assets.exchange.resource import BinanceExchange
from binance_assets.lake.klines import klines_parquet
from binance_assets.lake.layout import clean_file
from binance_assets.lake.resource import LakeResource
from binance_assets.partitions import MINUTE_MS, hourly_partitions, hours_in, to_ms

MINUTES = 60
MAX_LISTED = 20
PARQUET_FILES = "read_parquet($files, filename = true)"
FILES_PER_QUERY = 720  # a month of hours


def _files(context, exchange: BinanceExchange, lake: LakeResource, dataset: str):
    """(symbol, hour, path) of every symbol-hour the check covers, split into complete and missing."""
    complete, missing = [], []
    for symbol in exchange.symbol_list:
        for hour in hours_in(context):
            path = clean_file(dataset, symbol, hour)
            (complete if lake.manifest(path) is not None else missing).append((symbol, hour, path))
    return complete, missing


def _per_file(
    duckdb: DuckDBResource, lake: LakeResource, complete, select: str, source: str = PARQUET_FILES
) -> dict[str, tuple]:
    """One aggregate row per Parquet file, keyed by lake path (none for a file without rows).

    ``source`` is what the aggregates read: the files themselves, or a subquery over
    ``PARQUET_FILES`` that keeps the ``filename`` column (for window functions)."""
    if not complete:
        return {}
    paths = [path for _, _, path in complete]
    with lake.local_files(paths) as files, duckdb.get_connection() as con:
        by_file = dict(zip(files, paths, strict=True))
        rows = []
        for start in range(0, len(files), FILES_PER_QUERY):  # bounded memory for long ranges
            chunk = files[start : start + FILES_PER_QUERY]
            rows += con.execute(f"SELECT filename, {select} FROM {source} GROUP BY filename", {"files": chunk}).fetchall()
    return {by_file[row[0]]: row[1:] for row in rows}


def hourly_lake_check(
    asset: dg.AssetsDefinition,
    dataset: str,
    name: str,
    description: str,
    select: str,
    judge: Callable[[datetime, tuple | None], Verdict],
    source: str = PARQUET_FILES,
) -> dg.AssetChecksDefinition:
    """A per-hour check of ``asset``'s Parquet: ``select`` aggregates each symbol-hour's file with
    DuckDB, ``judge(hour, figures)`` turns them into a verdict (figures None: the file has no rows)."""

    @dg.asset_check(asset=asset, name=name, partitions_def=hourly_partitions, description=description)
    def check(
        context: dg.AssetCheckExecutionContext, exchange: BinanceExchange, lake: LakeResource, duckdb: DuckDBResource
    ):
        complete, missing = _files(context, exchange, lake, dataset)
        figures = _per_file(duckdb, lake, complete, select, source)
        verdicts = HourlyVerdicts()
        for symbol, hour, path in complete:
            verdicts.add(symbol, hour, judge(hour, figures.get(path)))
        for symbol, hour, _ in missing:
            verdicts.add(symbol, hour, missing_file("Parquet file"))
        yield from verdicts.evaluations(context)

    return check


def _minutes(times: list[int]) -> str:
    return ", ".join(f"{(t // MINUTE_MS) % 60:02d}" for t in sorted(times)[:MAX_LISTED]) + (
        " …" if len(times) > MAX_LISTED else ""
    )


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


klines_complete = hourly_lake_check(
    klines_parquet,
    "klines",
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


klines_ohlc_valid = hourly_lake_check(
    klines_parquet,
    "klines",
    "klines_ohlc_valid",
    "low ≤ min(open, close), high ≥ max(open, close), volumes ≥ 0, close_time = open_time + 59,999 ms.",
    OHLC_AGGREGATES,
    _ohlc_verdict,
)
