"""``guarded_executor``: Dagster's default executor (multiprocess, or in-process by config), guarded.

Before the first step it records the run's orchestrating process, cleans up crashed runs and waits
for earlier runs over the same hours; while the steps run it sweeps for crashed runs every
``SWEEP_EVERY_S``, so a step blocked on a pool slot that a run killed meanwhile still held starts
within seconds. Every clean-up and every wait is said in the run's log.
"""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import dagster as dg

# Dagster's own way for an orchestrating process to turn Ctrl-C / termination into an interrupted
# run while it waits (the multiprocess executor does the same while it polls its steps).
from dagster._utils.interrupts import raise_interrupts_as

from binance_assets.lib.runs.crashed import CrashedRuns
from binance_assets.lib.runs.overlaps import Overlaps
from binance_assets.lib.runs.processes import Orchestrator, running
from binance_assets.lib.runs.spans import describe_run

SWEEP_EVERY_S = 10.0
WAIT_POLL_S = 5.0
WAIT_REPORT_EVERY_S = 60.0


class RunGuard:
    """The guard of one run, living in its orchestrating process."""

    def __init__(self, instance: dg.DagsterInstance, run: dg.DagsterRun, log: dg.DagsterLogManager):
        self.instance = instance
        self.run = run
        self.log = log
        self.crashed = CrashedRuns(instance, own_run_id=run.run_id)
        self._explained: set[tuple[str, str]] = set()

    def record_process(self) -> None:
        self.instance.add_run_tags(self.run.run_id, Orchestrator.this_process(self.run.run_id).tag())

    def sweep(self) -> None:
        for cleanup in self.crashed.sweep():
            self.log.warning(cleanup.sentence())
        self._explain_awaited_slots()

    def wait_for_overlaps(self, definitions: Callable[[], dg.RepositoryDefinition]) -> None:
        """Return once no earlier unfinished run writes the hours and assets this run touches."""
        overlaps = Overlaps(self.instance, self.run, definitions())
        started, reported = time.monotonic(), None
        with raise_interrupts_as(dg.DagsterExecutionInterruptedError):  # Ctrl-C / termination stops the wait
            while blocking := overlaps.blocking():
                if reported is None or time.monotonic() - reported >= WAIT_REPORT_EVERY_S:
                    reported = time.monotonic()
                    waited = f" (waited {reported - started:.0f} s so far)" if reported > started + 1 else ""
                    for other, shared in blocking:
                        self.log.warning(
                            f"Waiting for run {other.run_id} ({describe_run(other)}{self._liveness(other)}), which "
                            f"also writes {shared}{waited}: two runs rewriting the same lake folders at once would "
                            "read each other's half-replaced files. This run starts when that one ends (a crashed "
                            f"one is cleaned up); checking every {WAIT_POLL_S:.0f} s."
                        )
                time.sleep(WAIT_POLL_S)
                self.sweep()
        if reported is not None:
            self.log.info(f"Earlier overlapping runs have ended after {time.monotonic() - started:.0f} s: starting.")

    @contextmanager
    def sweeping(self, every_s: float = SWEEP_EVERY_S) -> Iterator[None]:
        """Sweep for crashed runs in the background while the body runs."""
        stopped = threading.Event()

        def loop() -> None:
            while not stopped.wait(every_s):
                try:
                    self.sweep()
                except Exception as error:  # the guard must never break the run it guards
                    self.log.warning(f"Run guard: sweep for crashed runs failed ({type(error).__name__}: {error})")

        thread = threading.Thread(target=loop, name="run-guard", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stopped.set()
            thread.join()

    def _liveness(self, run: dg.DagsterRun) -> str:
        orchestrator = Orchestrator.of(run)
        if orchestrator is None:
            return ""
        alive = running(orchestrator.pid, orchestrator.since) is not None
        return f", running as {orchestrator.describe()}" if alive else f", was {orchestrator.describe()}"

    def _explain_awaited_slots(self) -> None:
        """Say once which run holds each pool slot a step of this run waits for."""
        storage = self.instance.event_log_storage
        infos = storage.get_concurrency_infos(sorted(storage.get_concurrency_keys()))
        for pool, info in infos.items():
            waiting = [
                p.step_key for p in info.pending_steps if p.run_id == self.run.run_id and not p.assigned_timestamp
            ]
            for slot in info.claimed_slots if waiting else []:
                if slot.run_id == self.run.run_id or (pool, slot.run_id) in self._explained:
                    continue
                self._explained.add((pool, slot.run_id))
                holder = self.instance.get_run_by_id(slot.run_id)
                about = f"{describe_run(holder)}{self._liveness(holder)}" if holder else "deleted"
                self.log.info(
                    f"{', '.join(waiting)} wait(s) for pool {pool!r}: its slot is held by run {slot.run_id} "
                    f"({about}, step {slot.step_key}). A crashed run on this machine is cleaned up within "
                    f"{SWEEP_EVERY_S:.0f} s; one from elsewhere that no longer runs: mark it failed "
                    "(UI: Terminate, force) or run `binance-assets reclaim --run RUN_ID` to free its slots."
                )


class GuardedExecutor(dg.Executor):
    def __init__(self, inner: dg.Executor):
        self.inner = inner

    @property
    def retries(self):
        return self.inner.retries

    @property
    def step_dependency_config(self):
        return self.inner.step_dependency_config

    def execute(self, plan_context, execution_plan) -> Iterator[dg.DagsterEvent]:
        guard = RunGuard(plan_context.instance, plan_context.dagster_run, plan_context.log)
        guard.record_process()
        guard.sweep()
        guard.wait_for_overlaps(plan_context.reconstructable_job.repository.get_definition)
        with guard.sweeping():
            yield from self.inner.execute(plan_context, execution_plan)


# A run whose steps follow one another anyway (one hour of a dataset, a load and its checks): one
# process runs them all, saving a Python start and a load of the definitions per step.
IN_PROCESS_RUN_CONFIG = {"execution": {"config": {"in_process": {}}}}


@dg.executor(
    name="guarded_executor",
    config_schema=dg.multi_or_in_process_executor.config_schema.as_field(),
    requirements=dg.multi_or_in_process_executor.get_requirements,
)
def guarded_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    """Dagster's default executor (multiprocess, or ``in_process`` by config), run by the run guard:
    crashed runs are cleaned up and runs over the same hours take turns."""
    return GuardedExecutor(dg.multi_or_in_process_executor.executor_creation_fn(init_context))
