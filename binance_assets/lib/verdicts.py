"""Per-hour asset check results, also inside single-run backfills.

Dagster's ``AssetCheckResult`` reports one result per step; a range run covers many hours, so we
emit one ``AssetCheckEvaluation`` per partition (each visible on that partition in the UI) and
then the check's output. Several symbols share a partition: an hour passes only if every symbol
does, and its metadata shows each symbol's figures.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import dagster as dg

from binance_assets.settings import PARTITION_FORMAT

ERROR, WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN


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
    def __init__(self) -> None:
        self._by_hour: dict[datetime, dict[str, Verdict]] = {}

    def add(self, symbol: str, hour: datetime, verdict: Verdict) -> None:
        self._by_hour.setdefault(hour, {})[symbol] = verdict

    def evaluations(self, context: dg.AssetCheckExecutionContext) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
        check_key = context.check_specs[0].key
        failed = 0
        for hour, by_symbol in sorted(self._by_hour.items()):
            failures = [v for v in by_symbol.values() if not v.passed]
            failed += bool(failures)
            severity = ERROR if any(v.severity == ERROR for v in failures) else WARN
            if len(by_symbol) == 1:
                symbol, verdict = next(iter(by_symbol.items()))
                metadata = {"symbol": symbol, **verdict.metadata}
            else:
                metadata = {symbol: dg.MetadataValue.json(v.metadata) for symbol, v in by_symbol.items()}
            yield dg.AssetCheckEvaluation(
                asset_key=check_key.asset_key,
                check_name=check_key.name,
                passed=not failures,
                severity=severity,
                metadata=metadata,
                partition=hour.strftime(PARTITION_FORMAT),
            )
        context.log.info(f"{check_key.name}: {len(self._by_hour) - failed} hour(s) passed, {failed} did not.")
        yield dg.Output(None)
