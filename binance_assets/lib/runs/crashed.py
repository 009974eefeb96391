"""Cleaning up after crashed runs, so their pool slots never block the next run.

Dagster frees a run's pool slots when its orchestrating process ends the run. A process killed
with SIGKILL (or by the out-of-memory killer, or a reboot) ends nothing: the run stays STARTED and
its slots stay claimed, and with a pool limit of 1 every later step in that pool waits forever.
The daemon's run monitoring cannot tell either, and a ``dagster asset materialize`` run has no
daemon at all. ``CrashedRuns.sweep`` can: for each unfinished run recorded on this machine whose
orchestrating process is gone, it stops the run's orphaned step processes, marks the run failed
and frees its slots (and frees slots a finished run still holds), saying what it did.

Nothing a crashed run wrote counts as complete: lake folders get their ``_SUCCESS`` last, and
the next run of those hours rewrites them (ClickHouse keeps one row per key).
"""

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dagster as dg

from binance_assets.errors import ConfigurationError
from binance_assets.lib.runs.processes import Machine, Orchestrator, StepProcesses, running, stop
from binance_assets.lib.runs.spans import describe_run

UNFINISHED = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
# Finished runs holding slots on another machine: freed this long after they ended (dagster.yaml's
# run_monitoring.free_slots_after_run_end_seconds, which the daemon applies too).
DEFAULT_FREE_AFTER_END_S = 60


@dataclass
class Cleanup:
    """What one sweep did about one run."""

    run: dg.DagsterRun
    reason: str
    stopped: list[str] = field(default_factory=list)
    freed: list[str] = field(default_factory=list)
    marked_failed: bool = False

    def sentence(self) -> str:
        done = []
        if self.marked_failed:
            done.append("marked it failed")
        if self.stopped:
            done.append(f"stopped its orphaned step process(es) {', '.join(self.stopped)}")
        if self.freed:
            done.append(f"freed its pool slot(s) {', '.join(self.freed)}")
        did = ", ".join(done) or "nothing was left to do (it had ended and held no slot)"
        return f"Cleaned up run {self.run.run_id} ({describe_run(self.run)}): {self.reason}; {did}."


class CrashedRuns:
    """Finds and cleans up crashed runs recorded on this machine (``sweep``); ``own_run_id`` is spared."""

    def __init__(self, instance: dg.DagsterInstance, own_run_id: str | None = None):
        self.instance = instance
        self.own_run_id = own_run_id
        self.machine = Machine.here()
        self.free_after_end_s = instance.run_monitoring_settings.get(
            "free_slots_after_run_end_seconds", DEFAULT_FREE_AFTER_END_S
        )

    def sweep(self) -> list[Cleanup]:
        cleanups = [self._dead(record) for record in self.instance.get_run_records(dg.RunsFilter(statuses=UNFINISHED))]
        done = [c for c in cleanups if c is not None]
        done += self._leftover_slots(skip={c.run.run_id for c in done})
        return done

    def _ours(self, run: dg.DagsterRun) -> Orchestrator | None:
        orchestrator = Orchestrator.of(run)
        if run.run_id == self.own_run_id or orchestrator is None or orchestrator.machine != self.machine:
            return None
        return orchestrator

    def _dead(self, record: dg.RunRecord) -> Cleanup | None:
        """Clean up an unfinished run whose orchestrating process is gone; None while it lives (or
        may still be launching a step, or was recorded on another machine)."""
        run = record.dagster_run
        orchestrator = self._ours(run)
        if orchestrator is None or running(orchestrator.pid, orchestrator.since) is not None:
            return None
        steps = StepProcesses.of(self.instance, run.run_id, time.time())
        if steps.launching:
            return None  # a step process it launched may still announce itself: judged on a later sweep
        cleanup = Cleanup(
            run,
            f"its orchestrating process ({orchestrator.describe()}) is gone — killed or crashed — so nothing "
            "would ever finish it",
        )
        cleanup.stopped = stop({**steps.working, **steps.lingering})
        current = self.instance.get_run_by_id(run.run_id)
        if current is not None and not current.is_finished:  # another run's sweep may have got there first
            self.instance.report_run_failed(
                current,
                f"Marked failed by the run guard ({_now()}): {cleanup.reason}. Its hours without _SUCCESS were "
                "not completed; rerun them.",
            )
            cleanup.marked_failed = True
        cleanup.freed = self._free(run.run_id)
        return cleanup if cleanup.marked_failed or cleanup.freed or cleanup.stopped else None

    def forget(self, run_id: str) -> Cleanup:
        """Clean up one run its owner says no longer runs (one recorded elsewhere, or before the run
        guard): marked failed if unfinished, its slots freed. Refused while it lives on this machine."""
        run = self.instance.get_run_by_id(run_id)
        if run is None:
            raise ConfigurationError(f"No run {run_id!r} in this Dagster instance (DAGSTER_HOME): check the run id.")
        orchestrator = self._ours(run)
        if orchestrator is not None and running(orchestrator.pid, orchestrator.since) is not None:
            raise ConfigurationError(
                f"Run {run_id} is still running ({orchestrator.describe()}): stop it first (Ctrl-C in its terminal, "
                "or Terminate in the UI)."
            )
        cleanup = Cleanup(run, "its owner said it no longer runs")
        if orchestrator is not None:
            steps = StepProcesses.of(self.instance, run_id, time.time())
            cleanup.stopped = stop({**steps.working, **steps.lingering})
        if not run.is_finished:
            self.instance.report_run_failed(run, f"Marked failed by `binance-assets reclaim` ({_now()}).")
            cleanup.marked_failed = True
        cleanup.freed = self._free(run_id)
        return cleanup

    def _leftover_slots(self, skip: set[str]) -> list[Cleanup]:
        """Finished runs still holding pool slots: freed once none of their step processes lives."""
        storage = self.instance.event_log_storage
        holders = storage.get_concurrency_run_ids() - skip - {self.own_run_id}
        if not holders:
            return []
        cleanups = []
        for record in self.instance.get_run_records(dg.RunsFilter(run_ids=list(holders))):
            run = record.dagster_run
            if not run.is_finished:
                continue
            if self._ours(run) is not None:
                steps = StepProcesses.of(self.instance, run.run_id, time.time())
                if steps.working or steps.launching:
                    continue  # an orphan still in its step: the slot is still in use
                cleanup = Cleanup(run, f"it ended {run.status.value} but still held pool slots")
                cleanup.stopped = stop(steps.lingering)
            elif record.end_time is not None and time.time() - record.end_time > self.free_after_end_s:
                cleanup = Cleanup(run, f"it ended {run.status.value} over {self.free_after_end_s} s ago")
            else:
                continue
            cleanup.freed = self._free(run.run_id)
            if cleanup.freed:
                cleanups.append(cleanup)
        return cleanups

    def _free(self, run_id: str) -> list[str]:
        """Free every slot and queued claim of the run; returns "pool (step)" of the slots it held."""
        storage = self.instance.event_log_storage
        held = [
            f"{pool} ({slot.step_key})"
            for pool, info in storage.get_concurrency_infos(sorted(storage.get_concurrency_keys())).items()
            for slot in info.claimed_slots
            if slot.run_id == run_id
        ]
        storage.free_concurrency_slots_for_run(run_id)
        return held


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
