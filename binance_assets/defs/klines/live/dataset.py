"""Live klines: closed 1-minute candles from Binance's websocket, written by ``binance-assets stream``.

Lake, one folder per symbol-hour of the candle's open time, one JSON line per candle:
``raw/klines_stream/symbol=S/year=/month=/day=/hour=/``

- ``stream.jsonl``: each closing kline message (``k.x`` true) exactly as the exchange sent it;
- ``rest.jsonl``: candles the stream missed while disconnected, as REST sent them (the kline array);
- ``_SUCCESS``: lists both files and their line counts.

``raw/klines_stream/status.json`` holds the newest candle written per symbol (the live edge), for
Dagster's health sensor and the embedded load path.

Rows go to ``{db}.klines`` like the batch's, with ``source`` 'stream' (or 'rest' for gap fills) and
``fetched_at`` = the candle's close time. ReplacingMergeTree keeps the row with the highest
``fetched_at``, and a batch can only fetch a candle after it closed, so the hourly batch's row
replaces a live one whichever is inserted first.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from binance_assets.defs.klines.clean import REST, STREAM, klines_frame
from binance_assets.lib.partitions import HOUR_MS
from binance_assets.resources.lake.layout import RAW, partition_dir

if TYPE_CHECKING:  # imported by the steps that build frames, not by every process loading the definitions
    import polars as pl

DATASET = "klines_stream"
GROUP = "klines_live"
FILES = {STREAM: "stream.jsonl", REST: "rest.jsonl"}
STATUS_FILE = f"{RAW}/{DATASET}/status.json"
INTERVAL = "1m"
# Dagster's health check fails when the newest candle closed longer ago than this.
MAX_EDGE_AGE_MS = 120_000


@dataclass(frozen=True)
class LiveCandle:
    """One closed candle as it reached us: its 12 kline fields in REST's order and the line stored."""

    symbol: str
    row: tuple
    line: str  # what the exchange sent: the stream message, or the REST kline array
    source: str  # STREAM or REST
    received_ms: int = 0  # exchange clock at arrival
    event_ms: int = 0  # the event's time (E) for a stream message

    @property
    def open_time(self) -> int:
        return self.row[0]

    @property
    def close_time(self) -> int:
        return self.row[6]

    @property
    def hour(self) -> datetime:
        return datetime.fromtimestamp(self.open_time // HOUR_MS * HOUR_MS / 1000, UTC)


def closed_candle(text: str, received_ms: int = 0) -> LiveCandle | None:
    """The closed 1-minute candle a stream message carries; None for an open candle's update, a method's
    answer or any other event. Combined streams wrap the event: ``{"stream": ..., "data": event}``."""
    message = json.loads(text)
    event = message.get("data", message) if isinstance(message, dict) else None
    if not isinstance(event, dict) or event.get("e") != "kline":
        return None
    k = event["k"]
    if k.get("x") is not True or k.get("i") != INTERVAL:
        return None
    row = (k["t"], k["o"], k["h"], k["l"], k["c"], k["v"], k["T"], k["q"], k["n"], k["V"], k["Q"], k["B"])
    return LiveCandle(k["s"], row, text, STREAM, received_ms, event["E"])


def rest_candle(symbol: str, row: list, received_ms: int = 0) -> LiveCandle:
    """A REST kline array (a gap fill), stored as the exchange sent it."""
    return LiveCandle(symbol, tuple(row), json.dumps(row, separators=(",", ":")), REST, received_ms)


def live_file(symbol: str, hour: datetime, source: str) -> str:
    return f"{partition_dir(RAW, DATASET, symbol, hour)}/{FILES[source]}"


def live_frame(candles: list[LiveCandle]) -> "pl.DataFrame":
    """The clean klines rows of live candles (any symbols): ``fetched_at`` = each candle's close time."""
    import polars as pl

    frames = []
    for symbol, source in sorted({(c.symbol, c.source) for c in candles}):
        rows = [list(c.row) for c in candles if c.symbol == symbol and c.source == source]
        frames.append(klines_frame(symbol, rows, None, source))
    return pl.concat(frames) if frames else klines_frame("", [], None)
