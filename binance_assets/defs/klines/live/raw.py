"""``klines_stream``: the live candles in the raw lake. ``binance-assets stream`` writes them, not a
Dagster run, so the asset is external: Dagster observes it (``klines_live_edge``) and loads it."""

import json
from datetime import datetime

import dagster as dg

from binance_assets.defs.klines.clean import STREAM
from binance_assets.defs.klines.live.dataset import (
    DATASET,
    FILES,
    GROUP,
    STATUS_FILE,
    LiveCandle,
    closed_candle,
    live_file,
    rest_candle,
)
from binance_assets.resources.lake import LakeResource
from binance_assets.resources.lake.layout import marker_for

klines_stream = dg.AssetSpec(
    DATASET,
    group_name=GROUP,
    kinds={"binance", "websocket", "json"},
    description=(
        "Closed 1-minute candles from Binance's websocket, written by `binance-assets stream` within about a second "
        "of their close: raw/klines_stream/symbol=/…/hour=/ holds each closing message as sent (stream.jsonl) and "
        "the candles filled from REST after a disconnect (rest.jsonl). On a ClickHouse server the stream inserts "
        "them into {CLICKHOUSE_DATABASE}.klines itself; on the embedded one, clickhouse_klines_stream loads them."
    ),
)


def read_live_hour(lake: LakeResource, symbol: str, hour: datetime) -> list[LiveCandle]:
    """Every candle stored for a symbol-hour, stream messages first; none when nothing was written."""
    manifest = lake.manifest(live_file(symbol, hour, STREAM))
    listed = {entry["file"] for entry in (manifest or {}).get("files", [])}
    candles = []
    for source, name in FILES.items():
        data = lake.store.get(live_file(symbol, hour, source)) if name in listed else None
        for line in (data or b"").decode().splitlines():
            candles.append(closed_candle(line) if source == STREAM else rest_candle(symbol, json.loads(line)))
    return [c for c in candles if c is not None]


def write_live_hour(lake: LakeResource, symbol: str, hour: datetime, lines: dict[str, list[str]], changed) -> None:
    """Rewrite the ``changed`` files of a symbol-hour whole (they only grow), then its manifest listing
    every file: two writes for a candle, however many the hour holds."""
    for source in changed:
        lake.store.put(live_file(symbol, hour, source), "".join(f"{line}\n" for line in lines[source]).encode())
    files = [{"file": FILES[source], "rows": len(lines[source])} for source in FILES if lines.get(source)]
    manifest = {"symbol": symbol, "files": files, "rows": sum(f["rows"] for f in files)}
    lake.store.put(marker_for(live_file(symbol, hour, STREAM)), json.dumps(manifest, sort_keys=True).encode())


def read_status(lake: LakeResource) -> dict | None:
    """The stream's last report (newest candle written per symbol, connection, lag); None if it never ran."""
    data = lake.store.get(STATUS_FILE)
    return None if data is None else json.loads(data)


def write_status(lake: LakeResource, status: dict) -> None:
    lake.store.put(STATUS_FILE, json.dumps(status, sort_keys=True).encode())
