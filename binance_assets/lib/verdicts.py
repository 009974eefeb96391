"""Per-hour asset check results, also inside single-run backfills.

Dagster's ``AssetCheckResult`` reports one result per step; a range run covers many hours, so we
emit one ``AssetCheckEvaluation`` per partition and check, each naming the materialization of that
hour it checked: Dagster counts a result as the hour's current status only when it targets the
hour's latest materialization, so without it a range run's hours stay blank in the UI. Several
symbols share a partition: an hour passes only if every symbol does, and its metadata shows each
symbol's figures.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import dagster as dg
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData as CheckedMaterialization,
)

from binance_assets.settings import PARTITION_FORMAT

ERROR, WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN
# Partition keys per storage query: well inside SQLite's bound on query parameters.
HOURS_PER_QUERY = 5_000


@dataclass
class Verdict:
    passed: bool = True
    severity: dg.AssetCheckSeverity = ERROR
    metadata: dict = field(default_factory=dict)


def missing_file(what: str) -> Verdict:
    return Verdict(False, ERROR, {"rows": 0, "error": f"no complete {what} (missing file or _SUCCESS marker)"})


def unreadable_file(uri: str, error: str, producer: str, hour: datetime) -> Verdict:
    """A file whose ``_SUCCESS`` says complete but which cannot be read: a failed check, not an errored step."""
    return Verdict(
        False,
        ERROR,
        {
            "error": f"unreadable Parquet: {error.splitlines()[0][:300]}",
            "file": uri,
            "fix": f"re-materialise {producer} for {hour.strftime(PARTITION_FORMAT)} to rewrite it",
        },
    )


class HourlyVerdicts:
    """One check's verdicts, by hour and symbol."""

    def __init__(self, check_key: dg.AssetCheckKey) -> None:
        self.check_key = check_key
        self._by_hour: dict[datetime, dict[str, Verdict]] = {}

    def add(self, symbol: str, hour: datetime, verdict: Verdict) -> None:
        self._by_hour.setdefault(hour, {})[symbol] = verdict

    def evaluations(self, checked: dict[str, CheckedMaterialization]) -> Iterator[dg.AssetCheckEvaluation]:
        """One evaluation per hour; ``checked`` maps a partition to the materialization it checked."""
        for hour, by_symbol in sorted(self._by_hour.items()):
            failures = [v for v in by_symbol.values() if not v.passed]
            # WARN only when every failure is a warning; a passed hour keeps the default, ERROR.
            severity = WARN if failures and all(v.severity == WARN for v in failures) else ERROR
            if len(by_symbol) == 1:
                symbol, verdict = next(iter(by_symbol.items()))
                metadata = {"symbol": symbol, **verdict.metadata}
            else:
                metadata = {symbol: dg.MetadataValue.json(v.metadata) for symbol, v in by_symbol.items()}
            partition = hour.strftime(PARTITION_FORMAT)
            yield dg.AssetCheckEvaluation(
                asset_key=self.check_key.asset_key,
                check_name=self.check_key.name,
                passed=not failures,
                severity=severity,
                metadata=metadata,
                partition=partition,
                target_materialization_data=checked.get(partition),
            )

    @property
    def failed_hours(self) -> int:
        return sum(any(not v.passed for v in by_symbol.values()) for by_symbol in self._by_hour.values())

    @property
    def partitions(self) -> list[str]:
        return [hour.strftime(PARTITION_FORMAT) for hour in self._by_hour]


def latest_materializations(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partitions: list[str]
) -> dict[str, CheckedMaterialization]:
    """partition → the asset's latest materialization of it (none for a partition never materialised)."""
    storage = instance.event_log_storage
    checked = {}
    for start in range(0, len(partitions), HOURS_PER_QUERY):
        chunk = set(partitions[start : start + HOURS_PER_QUERY])
        latest = storage.get_latest_storage_id_by_partition(asset_key, dg.DagsterEventType.ASSET_MATERIALIZATION, chunk)
        if not latest:
            continue
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key, storage_ids=list(latest.values())), limit=len(latest)
        ).records
        for record in records:
            checked[record.partition_key] = CheckedMaterialization(
                storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
            )
    return checked


def report(
    context: dg.AssetCheckExecutionContext, verdicts: Iterable[HourlyVerdicts]
) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    """Every hour's evaluation of each check (naming the materialization it checked), then each
    check's output and a summary line in the run's log."""
    assets_def = context.op_execution_context.assets_def
    checked_by_asset: dict[dg.AssetKey, dict[str, CheckedMaterialization]] = {}
    for check in verdicts:
        asset_key = check.check_key.asset_key
        if asset_key not in checked_by_asset:
            checked_by_asset[asset_key] = latest_materializations(context.instance, asset_key, check.partitions)
        yield from check.evaluations(checked_by_asset[asset_key])
        yield dg.Output(None, output_name=assets_def.get_output_name_for_asset_check_key(check.check_key))
        hours = len(check.partitions)
        context.log.info(
            f"{check.check_key.name}: {hours - check.failed_hours} hour(s) passed, {check.failed_hours} did not."
        )
