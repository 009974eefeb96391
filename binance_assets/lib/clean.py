"""Raw JSON → one clean Parquet file per symbol-hour: the loop every ``X_parquet`` asset shares."""

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

import dagster as dg

from binance_assets.errors import NotRetryable
from binance_assets.lib.dataset import HourlyDataset
from binance_assets.lib.partitions import hourly_partitions, hours_in, key_span, listed_symbol_hours
from binance_assets.lib.preview import preview
from binance_assets.lib.retries import STORAGE_RETRY_POLICY
from binance_assets.resources.lake import LakeResource
from binance_assets.resources.lake.layout import clean_file, raw_file
from binance_assets.settings import TrackedSymbols

if TYPE_CHECKING:
    import polars as pl

MAX_LISTED = 20
HOURS_PER_PASS = 168  # a week of one symbol: cleaned in one pass of the frame code (polars' cost is per call)
T = TypeVar("T")
# frames_for(lake, symbol, hours) → {hour: clean frame} for each hour whose raw partition is complete.
FramesFor = Callable[[LakeResource, str, list[datetime]], dict[datetime, "pl.DataFrame"]]


class MissingUpstreamError(NotRetryable):
    """An input is not in the lake yet: rerunning the step cannot make it appear."""


def raw_rows(lake: LakeResource, dataset: str, symbol: str, hour) -> tuple[list, dict]:
    """A complete raw partition's rows and manifest, or a clear error naming what to materialise."""
    path = raw_file(dataset, symbol, hour)
    data = lake.read(path)
    if data is None:
        raise MissingUpstreamError(
            f"No complete raw {dataset} for {symbol} at {hour:%Y-%m-%d %H}:00 UTC ({path} or its _SUCCESS "
            f"is missing): materialise raw_{dataset} for this partition first."
        )
    return json.loads(data), lake.manifest(path)


def hour_by_hour(value_for: Callable[[LakeResource, str, datetime], T]) -> Callable[..., dict[datetime, T]]:
    """``{hour: value_for(lake, symbol, hour)}`` over several hours, leaving out those whose raw
    partition is missing (``MissingUpstreamError``)."""

    def values_for(lake: LakeResource, symbol: str, hours: list[datetime]) -> dict[datetime, T]:
        values = {}
        for hour in hours:
            try:
                values[hour] = value_for(lake, symbol, hour)
            except MissingUpstreamError:
                continue
        return values

    return values_for


def clean_hours(
    context: dg.AssetExecutionContext,
    lake: LakeResource,
    dataset: str,
    symbols: list[str],
    hours: list[datetime],
    frames_for: FramesFor,
    empty_warning: str | None = None,
) -> dg.MaterializeResult:
    """Write the clean Parquet of every symbol-hour of the run: ``frames_for(lake, symbol, hours)``
    builds a week of one symbol at a time (one pass of the dataset's frame code, bounded memory).

    Symbol-hours without rows are listed in the metadata (``empty_hours``) and, with
    ``empty_warning``, logged as a warning."""
    started = time.perf_counter()
    rows = 0
    last = None
    empty = []
    missing: list[tuple[str, datetime]] = []
    for symbol in symbols:
        for start in range(0, len(hours), HOURS_PER_PASS):
            batch = hours[start : start + HOURS_PER_PASS]
            frames = frames_for(lake, symbol, batch)
            for hour in batch:
                frame = frames.get(hour)
                if frame is None:
                    missing.append((symbol, hour))  # the complete hours are still written; all gaps are named
                    continue
                lake.write_parquet(clean_file(dataset, symbol, hour), frame, {"rows": frame.height})
                rows += frame.height
                last = frame
                if frame.is_empty():
                    empty.append(f"{symbol} {hour:%Y-%m-%d %H}:00")
        context.log.info(f"{symbol}: {len(hours)} {dataset} Parquet file(s) written")
    if missing:
        raise MissingUpstreamError(
            f"No complete raw {dataset} for {listed_symbol_hours(missing)}: the raw file or its _SUCCESS is missing; "
            f"materialise raw_{dataset} for {key_span(h for _, h in missing)} first "
            f"(the other {len(symbols) * len(hours) - len(missing)} symbol-hour(s) were written)."
        )
    if empty and empty_warning:
        listed = ", ".join(empty[:MAX_LISTED]) + (" …" if len(empty) > MAX_LISTED else "")
        context.log.warning(f"{len(empty)} symbol-hour(s) without rows ({listed}): {empty_warning}")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "files": len(hours) * len(symbols),
            "empty_hours": dg.MetadataValue.json(empty),
            "seconds": round(time.perf_counter() - started, 3),
            "preview": preview(last),
        }
    )


def from_raw_array(dataset: str, to_frame: Callable[[str, list, int], "pl.DataFrame"]) -> FramesFor:
    """``frames_for`` of a dataset whose raw partition is one JSON array: ``to_frame(symbol, rows, fetched_at_ms)``
    for each hour."""

    def frame_for(lake: LakeResource, symbol: str, hour: datetime) -> "pl.DataFrame":
        rows, manifest = raw_rows(lake, dataset, symbol, hour)
        return to_frame(symbol, rows, manifest["fetched_at_ms"])

    return hour_by_hour(frame_for)


def hourly_parquet(
    dataset: HourlyDataset,
    description: str,
    frames_for: FramesFor,
    empty_warning: str | None = None,
) -> dg.AssetsDefinition:
    """``{dataset}_parquet``: one clean Parquet file per symbol-hour, from the raw asset's lake files."""

    @dg.asset(
        name=dataset.parquet_asset_name,
        deps=[dataset.raw_asset_key],
        partitions_def=hourly_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name=dataset.group,
        kinds={"polars", "parquet"},
        tags=dataset.tags,
        retry_policy=STORAGE_RETRY_POLICY,
        description=description,
    )
    def parquet(context: dg.AssetExecutionContext, symbols: TrackedSymbols, lake: LakeResource) -> dg.MaterializeResult:
        return clean_hours(context, lake, dataset.name, symbols.names, hours_in(context), frames_for, empty_warning)

    return parquet
