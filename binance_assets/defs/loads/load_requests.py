"""From announced lake files to as few load runs as possible.

Files of one dataset whose hours are contiguous become one run over a partition range (the load
assets have ``BackfillPolicy.single_run()``), and so do hours up to a day apart when every hour
between them is complete in the lake; any other gap starts another run. Each run's ``run_key`` is
derived from the exact file versions it loads, so a redelivered notification cannot start a second
run while a re-upload (new ETag / sequencer) does — a run_key deduplicates forever.
"""

import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import dagster as dg

from binance_assets.lib.partitions import PARTITION_FORMAT, contiguous_spans, hours_target
from binance_assets.lib.runs.executor import IN_PROCESS_RUN_CONFIG

# A load run's steps (the load, then its checks) both need the warehouse, one at a time: one process
# runs them, saving a Python start per step on the way from a PUT to queryable rows.
LOAD_RUN_CONFIG = IN_PROCESS_RUN_CONFIG
LAKE_FILES_TAG = "binance_assets/lake_files"


@dataclass(frozen=True)
class LakeFile:
    """A clean Parquet file the lake announced: which load partition it feeds, and which version it is."""

    dataset: str
    symbol: str
    hour: datetime
    identity: str
    landed_at: float | None = None


@dataclass(frozen=True)
class PlannedLoad:
    dataset: str
    asset_key: dg.AssetKey
    hours: list[datetime]
    identities: frozenset[str]

    @property
    def run_key(self) -> str:
        digest = hashlib.sha256("\n".join(sorted(self.identities)).encode()).hexdigest()[:16]
        first, last = (h.strftime(PARTITION_FORMAT) for h in (self.hours[0], self.hours[-1]))
        span = first if first == last else f"{first}...{last}"
        return f"{self.dataset} {span} {digest}"

    def run_request(self) -> dg.RunRequest:
        target = hours_target(self.hours[0], self.hours[-1])
        return dg.RunRequest(
            run_key=self.run_key,
            asset_selection=[self.asset_key],
            partition_key=target["partition_key"],
            tags={LAKE_FILES_TAG: str(len(self.identities)), **target["tags"]},
            run_config=LOAD_RUN_CONFIG,
        )


def plan_loads(
    files: list[LakeFile],
    load_keys: dict[str, dg.AssetKey],
    complete: Callable[[str, datetime], bool] = lambda dataset, hour: False,
) -> list[PlannedLoad]:
    """One load per dataset and span of hours; ``load_keys`` maps a dataset to its load asset.

    Notifications of a backfill come out of SQS in no strict order, so one tick's files may be
    scattered over its hours: hours up to ``MAX_BRIDGED_GAP`` apart are loaded in one run when every
    hour between them is ``complete`` in the lake (loading them early is harmless: their own
    notifications are then recognised as already loaded)."""
    by_dataset: dict[str, list[LakeFile]] = defaultdict(list)
    for file in files:
        by_dataset[file.dataset].append(file)
    plans = []
    for dataset, dataset_files in sorted(by_dataset.items()):
        for span in contiguous_spans([f.hour for f in dataset_files], partial(complete, dataset)):
            covered = set(span)
            identities = frozenset(f.identity for f in dataset_files if f.hour in covered)
            plans.append(PlannedLoad(dataset, load_keys[dataset], span, identities))
    return plans
