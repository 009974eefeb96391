"""Is the stream alive (``klines_live_edge_fresh``), and did it tell the truth (``klines_stream_agrees``)?"""

import time
from datetime import datetime
from typing import TYPE_CHECKING

import dagster as dg

from binance_assets.defs.klines.clean import DECIMAL_COLUMNS, STREAM
from binance_assets.defs.klines.dataset import KLINES
from binance_assets.defs.klines.live.dataset import MAX_EDGE_AGE_MS, live_frame
from binance_assets.defs.klines.live.raw import klines_stream, read_live_hour, read_status
from binance_assets.lib.hourly_checks import HourlyCheck
from binance_assets.lib.lake_checks import listed
from binance_assets.lib.partitions import MINUTE_MS, hourly_partitions
from binance_assets.lib.verdicts import ERROR, WARN, HourlyVerdicts, Verdict, missing_file, unreadable_file
from binance_assets.resources.lake import CorruptFileError, LakeResource
from binance_assets.resources.lake.layout import clean_file
from binance_assets.settings import TrackedSymbols

if TYPE_CHECKING:  # the frames come from the check step; loading the definitions needs no polars
    import polars as pl

EDGE_CHECK = "klines_live_edge_fresh"
MAX_LISTED = 20
# What a stream candle must share with the batch's candle of the same minute.
COMPARED = ["close_time", *DECIMAL_COLUMNS, "number_of_trades"]


def live_edge_verdict(status: dict | None, symbols: list[str], now_ms: int) -> Verdict:
    """Every symbol's newest candle written by the stream closed at most ``MAX_EDGE_AGE_MS`` ago."""
    if status is None:
        return Verdict(False, ERROR, {"error": "the live stream has never written: start `binance-assets stream`"})
    edge = status.get("edge", {})
    ages = {s: (now_ms - edge[s] - MINUTE_MS) if s in edge else None for s in symbols}
    behind = [s for s, age in ages.items() if age is None or age > MAX_EDGE_AGE_MS]
    known = [age for age in ages.values() if age is not None]
    lag = status.get("lag_ms", {})
    metadata = {
        "edge_age_s": round(max(known) / 1000, 1) if known else "no candle yet",
        "symbols_behind": listed(behind) or "none",
        "symbols": len(symbols),
        "connected": bool(status.get("connected")),
        "status_written": dg.MetadataValue.timestamp(status.get("written_at_ms", 0) / 1000),
        "arrival_to_written_ms_p50": lag.get("p50", "n/a"),
        "arrival_to_written_ms_max": lag.get("max", "n/a"),
    }
    if known:
        metadata["live_edge"] = dg.MetadataValue.timestamp((now_ms - max(known)) / 1000)
    return Verdict(not behind, ERROR, metadata)


@dg.asset_check(
    asset=klines_stream.key,
    name=EDGE_CHECK,
    description=(
        f"The live edge: every symbol's newest streamed candle closed at most {MAX_EDGE_AGE_MS // 60_000} minutes "
        "ago. Evaluated every minute by the klines_live_edge sensor."
    ),
)
def klines_live_edge_fresh(symbols: TrackedSymbols, lake: LakeResource) -> dg.AssetCheckResult:
    verdict = live_edge_verdict(read_status(lake), symbols.names, int(time.time() * 1000))
    return dg.AssetCheckResult(passed=verdict.passed, severity=verdict.severity, metadata=verdict.metadata)


def agreement_verdict(stream: "pl.DataFrame", batch: "pl.DataFrame") -> Verdict:
    """Each stream candle against the batch's candle of the same minute: every differing value listed."""
    if stream.is_empty():
        return Verdict(True, WARN, {"stream_candles": 0})
    joined = stream.select("open_time", *COMPARED).join(
        batch.select("open_time", *COMPARED), on="open_time", how="left", suffix="_batch"
    )
    differences = []
    for row in joined.iter_rows(named=True):
        minute = f"{row['open_time']:%H:%M}"
        if row["close_time_batch"] is None:
            differences.append({"minute": minute, "field": "candle", "stream": "present", "batch": "missing"})
            continue
        for column in COMPARED:
            if row[column] != row[f"{column}_batch"]:
                differences.append(
                    {
                        "minute": minute,
                        "field": column,
                        "stream": str(row[column]),
                        "batch": str(row[f"{column}_batch"]),
                    }
                )
    metadata = {
        "stream_candles": stream.height,
        "disagreeing_candles": len({d["minute"] for d in differences}),
        "differences": differences[:MAX_LISTED],
    }
    return Verdict(not differences, WARN, metadata)


def stream_agreement(lake: LakeResource, symbols: list[str], hours: list[datetime]) -> HourlyVerdicts:
    """``klines_stream_agrees`` for each symbol-hour: the stream's candles against the batch's Parquet."""
    verdicts = HourlyVerdicts(STREAM_AGREES.key)
    for symbol in symbols:
        for hour in hours:
            streamed = [c for c in read_live_hour(lake, symbol, hour) if c.source == STREAM]
            if not streamed:  # most hours of a backfill: no Parquet to read
                verdicts.add(symbol, hour, Verdict(True, WARN, {"stream_candles": 0}))
                continue
            path = clean_file(KLINES.name, symbol, hour)
            try:
                batch = lake.read_parquet(path)
            except CorruptFileError as error:  # a failed check naming the file and the fix, not an errored step
                verdicts.add(
                    symbol, hour, unreadable_file(lake.store.uri(path), str(error), KLINES.parquet_asset_name, hour)
                )
                continue
            verdicts.add(
                symbol,
                hour,
                missing_file("Parquet file") if batch is None else agreement_verdict(live_frame(streamed), batch),
            )
    return verdicts


STREAM_AGREES = dg.AssetCheckSpec(
    "klines_stream_agrees",
    asset=KLINES.load_asset_name,
    partitions_def=hourly_partitions,
    description=(
        "Every candle the live stream wrote for the hour equals the batch's candle of the same minute (prices, "
        "volumes, trades, close time); each differing value is listed. The batch's rows replaced the stream's "
        "in ClickHouse: a failure shows what the live edge served before they did. Runs in the klines_checks step."
    ),
)
# Part of the klines check step (defs/klines/checks.py): one process per run for all of klines' checks.
KLINES_STREAM_AGREES = HourlyCheck(STREAM_AGREES, stream_agreement)
