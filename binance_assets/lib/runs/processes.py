"""Which processes a run lives in, and whether they still do.

A run's orchestrating process records itself on the run (tag ``PROCESS_TAG``: machine, pid and
when). Its step processes announce themselves in the event log (``STEP_WORKER_STARTED``, from the
multiprocess executor). A process counts as the run's only if it already existed when the run
recorded it: a pid reused by a newer process is not mistaken for it. Only runs recorded on this
machine (host, boot, pid namespace) are judged here; any other machine's runs are left alone.
"""

import json
import os
import socket
import time
from dataclasses import asdict, dataclass, field

import dagster as dg
import psutil

PROCESS_TAG = "binance_assets/process"
# psutil's process start times are rounded (1/100 s on Linux); events are stamped after the start.
CLOCK_SLACK_S = 1.0
# A step process the orchestrator launched but which has not announced itself yet (it is importing
# Python): it may still be starting until this long after the launch.
LAUNCH_GRACE_S = 30.0
STOP_WAIT_S = 5.0

STEP_ENDS = {
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.STEP_SKIPPED,
    dg.DagsterEventType.STEP_UP_FOR_RETRY,
}
WORKER_EVENTS = {dg.DagsterEventType.STEP_WORKER_STARTING, dg.DagsterEventType.STEP_WORKER_STARTED, *STEP_ENDS}


@dataclass(frozen=True)
class Machine:
    """Where pids mean something: the host, since its last boot, in one pid namespace (containers)."""

    host: str
    boot: int
    pid_namespace: str

    @classmethod
    def here(cls) -> "Machine":
        try:
            namespace = os.readlink("/proc/self/ns/pid")
        except OSError:  # no /proc (macOS): one pid namespace
            namespace = ""
        return cls(socket.gethostname(), int(psutil.boot_time()), namespace)


@dataclass(frozen=True)
class Orchestrator:
    """The process that orchestrates a run, as the run recorded it."""

    run_id: str
    pid: int
    since: float  # epoch seconds: the process existed then
    machine: Machine

    @classmethod
    def this_process(cls, run_id: str) -> "Orchestrator":
        return cls(run_id, os.getpid(), time.time(), Machine.here())

    def tag(self) -> dict[str, str]:
        return {PROCESS_TAG: json.dumps({**asdict(self), "since": round(self.since, 3)}, sort_keys=True)}

    @classmethod
    def of(cls, run: dg.DagsterRun) -> "Orchestrator | None":
        """The run's orchestrator, if the run recorded it itself (a re-execution inherits its parent's tags)."""
        try:
            data = json.loads(run.tags[PROCESS_TAG])
            recorded = cls(data["run_id"], int(data["pid"]), float(data["since"]), Machine(**data["machine"]))
        except (KeyError, ValueError, TypeError):
            return None
        return recorded if recorded.run_id == run.run_id else None

    def describe(self) -> str:
        return f"pid {self.pid} on {self.machine.host}"


def running(pid: int, since: float) -> psutil.Process | None:
    """The live process with this pid, if it is the one that existed at ``since``."""
    try:
        process = psutil.Process(pid)
        if process.create_time() > since + CLOCK_SLACK_S or process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process
    except psutil.Error:  # gone, or not ours to look at
        return None


@dataclass
class StepProcesses:
    """A run's step processes, from its event log: those still in a step, those the orchestrator
    launched that have not announced themselves yet, and those whose step ended but which live on
    (an orphan whose orchestrator died never exits: it waits forever to hand over its events)."""

    working: dict[str, psutil.Process] = field(default_factory=dict)
    launching: list[str] = field(default_factory=list)
    lingering: dict[str, psutil.Process] = field(default_factory=dict)

    @classmethod
    def of(cls, instance: dg.DagsterInstance, run_id: str, now: float) -> "StepProcesses":
        last: dict[str, dg.EventLogRecord] = {}
        started: dict[str, dg.EventLogRecord] = {}
        for record in instance.get_records_for_run(run_id, of_type=WORKER_EVENTS).records:
            step = record.event_log_entry.step_key
            last[step] = record
            if record.event_log_entry.dagster_event_type == dg.DagsterEventType.STEP_WORKER_STARTED:
                started[step] = record
        found = cls()
        for step, record in last.items():
            entry = record.event_log_entry
            if entry.dagster_event_type == dg.DagsterEventType.STEP_WORKER_STARTING:
                if now - entry.timestamp < LAUNCH_GRACE_S:
                    found.launching.append(step)
                continue
            if step not in started:
                continue
            worker = started[step].event_log_entry
            process = running(worker.dagster_event.pid, worker.timestamp)
            if process is not None:
                ended = entry.dagster_event_type in STEP_ENDS
                (found.lingering if ended else found.working)[step] = process
        return found


def stop(processes: dict[str, psutil.Process]) -> list[str]:
    """Terminate the processes (killing any that outlive ``STOP_WAIT_S``); returns "step pid N" of each."""
    for process in processes.values():
        try:
            process.terminate()
        except psutil.Error:
            pass
    _, survivors = psutil.wait_procs(list(processes.values()), timeout=STOP_WAIT_S)
    for process in survivors:
        try:
            process.kill()
        except psutil.Error:
            pass
    return [f"{step} (pid {process.pid})" for step, process in processes.items()]
