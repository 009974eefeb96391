"""Which announced files a load already read: the latest load of each hour, and when it began.

A load reads whatever clean Parquet the hour holds when its step begins, so a file that landed
before the step began is loaded (the hourly job and CLI backfills load what they just wrote). The
lookup is one query per dataset for all the hours of a tick, then one per load run behind them,
so a backfill's thousands of notifications cost a handful of queries, not two per file.
"""

from collections import defaultdict

import dagster as dg

STORAGE_IDS_PER_QUERY = 500


def load_starts(instance: dg.DagsterInstance, load_key: dg.AssetKey, partitions: set[str]) -> dict[str, float]:
    """{partition: when the step behind its latest materialization of ``load_key`` began}."""
    latest = instance.event_log_storage.get_latest_storage_id_by_partition(
        load_key, dg.DagsterEventType.ASSET_MATERIALIZATION, partitions=partitions
    )
    storage_ids = sorted(latest.values())
    steps_by_partition: dict[str, tuple[str, str]] = {}
    for start in range(0, len(storage_ids), STORAGE_IDS_PER_QUERY):
        chunk = storage_ids[start : start + STORAGE_IDS_PER_QUERY]
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=load_key, storage_ids=chunk), limit=len(chunk)
        ).records
        for record in records:
            entry = record.event_log_entry
            steps_by_partition[record.partition_key] = (entry.run_id, entry.step_key)
    partitions_by_run: dict[str, list[str]] = defaultdict(list)
    for partition, (run_id, _) in steps_by_partition.items():
        partitions_by_run[run_id].append(partition)
    starts: dict[str, float] = {}
    for run_id, run_partitions in partitions_by_run.items():
        begun = {
            record.event_log_entry.step_key: record.event_log_entry.timestamp
            for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_START).records
        }
        for partition in run_partitions:
            step_start = begun.get(steps_by_partition[partition][1])
            if step_start is not None:
                starts[partition] = step_start
    return starts
