"""Writing a symbol-hour of raw exchange rows and describing the run: shared by the ``raw_X`` assets."""

import json
import time
from datetime import datetime

import dagster as dg

from binance_assets.resources.binance import BinanceExchange
from binance_assets.resources.lake import LakeResource
from binance_assets.resources.lake.layout import raw_file


def write_raw_hour(
    lake: LakeResource, dataset: str, symbol: str, hour: datetime, rows: list, fetched_at_ms: int, **manifest
) -> int:
    """The rows exactly as the exchange sent them, with their manifest (plus ``manifest``, e.g. where
    they came from). An hour without rows is still written: ``[]`` records that the exchange had none."""
    lake.write_partition(
        raw_file(dataset, symbol, hour),
        json.dumps(rows, separators=(",", ":")).encode(),
        {"rows": len(rows), "fetched_at_ms": fetched_at_ms, "symbol": symbol, **manifest},
    )
    return len(rows)


def raw_result(
    exchange: BinanceExchange,
    lake: LakeResource,
    dataset: str,
    rows_by_symbol: dict[str, int],
    hours: list[datetime],
    started: float,
    **metadata,
) -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(rows_by_symbol.values()),
            "rows_by_symbol": rows_by_symbol,
            "hours": len(hours),
            "seconds": round(time.perf_counter() - started, 3),
            "lake_path": dg.MetadataValue.path(lake.store.uri(raw_file(dataset, next(iter(rows_by_symbol)), hours[0]))),
            **exchange.stats.as_metadata(),
            **metadata,
        }
    )
