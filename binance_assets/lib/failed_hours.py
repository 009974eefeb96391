"""The failed hours of a range run, when Dagster records one planned event per asset instead of one per hour.

Dagster shows an hour of an asset as failed when that hour's latest planned materialization belongs
to a run that failed and no materialization of the hour followed. A single-run range backfill
writes those planned events, one per hour and asset, before its first step (37,224 for 17 months
of the klines group). With ``DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS=1`` it writes one per
asset, naming the whole range, and no hour of a failed range run shows as failed.

``record_failed_hours`` writes, after such a run failed, the per-hour planned event of each hour it
planned and did not materialize — the events Dagster would have written up front, now only for the
hours that need them — so the UI shows exactly the hours the run left failed. It is safe to repeat:
an hour already recorded, or planned or materialized by a later run, is left alone.
"""

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

import dagster as dg
from dagster._core.events import AssetMaterializationPlannedData

# Planned events of one run to inspect: a run in one-event-per-asset mode has one per asset.
PLANNED_EVENTS_READ = 100
HOURS_PER_QUERY = 5_000


@dataclass(frozen=True)
class UnrecordedHours:
    """Hours one asset's step planned in a failed run, not materialized and not yet recorded as failed."""

    asset_key: dg.AssetKey
    job_name: str
    step_key: str | None
    hours: list[str]


def _later_events(storage, asset_key: dg.AssetKey, hours: list[str], after: int) -> set[str]:
    """The hours with a materialization, or another planned event, stored after ``after``."""
    found = set()
    for start in range(0, len(hours), HOURS_PER_QUERY):
        chunk = set(hours[start : start + HOURS_PER_QUERY])
        for event_type in (
            dg.DagsterEventType.ASSET_MATERIALIZATION,
            dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
        ):
            latest = storage.get_latest_storage_id_by_partition(asset_key, event_type, chunk)
            found |= {hour for hour, storage_id in latest.items() if storage_id > after}
    return found


def unrecorded_failed_hours(instance: dg.DagsterInstance, run_id: str) -> Iterator[UnrecordedHours]:
    """For each asset a failed run planned as a whole range: the hours still to record as failed."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED, limit=PLANNED_EVENTS_READ
    ).records
    for record in records:
        event = record.event_log_entry.dagster_event
        planned: AssetMaterializationPlannedData = event.event_specific_data
        if planned.partitions_subset is None:
            continue  # one planned event per hour: Dagster derives the failed hours itself
        hours = list(planned.partitions_subset.get_partition_keys())
        done = _later_events(instance.event_log_storage, planned.asset_key, hours, after=record.storage_id)
        missing = [hour for hour in hours if hour not in done]
        if missing:
            yield UnrecordedHours(planned.asset_key, event.job_name, event.step_key, missing)


def record_failed_hours(instance: dg.DagsterInstance, run_id: str, deadline: float) -> tuple[int, bool]:
    """Record the failed run's unmaterialised hours, one planned event per hour, until ``deadline``
    (``time.monotonic()``); returns (hours recorded, whether the run is done)."""
    recorded = 0
    for unrecorded in unrecorded_failed_hours(instance, run_id):
        for hour in unrecorded.hours:
            if time.monotonic() > deadline:
                return recorded, False
            instance.report_dagster_event(
                dg.DagsterEvent(
                    event_type_value=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED.value,
                    job_name=unrecorded.job_name,
                    step_key=unrecorded.step_key,
                    message=(
                        f"{unrecorded.asset_key.to_user_string()} {hour}: planned by this run and not materialized "
                        "(recorded after the run failed, so the hour shows as failed)"
                    ),
                    event_specific_data=AssetMaterializationPlannedData(unrecorded.asset_key, partition=hour),
                ),
                run_id=run_id,
                log_level=logging.DEBUG,
            )
            recorded += 1
    return recorded, True
