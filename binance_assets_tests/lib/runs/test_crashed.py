"""Crashed runs cleaned up on a real Dagster instance (DAGSTER_HOME), judged by real processes, by a
run's guard or ``binance-assets reclaim`` (see also binance_assets_tests/faults/test_killed_runs.py:
SIGKILLed ``dagster asset materialize`` runs)."""

import subprocess
import sys
import time
from dataclasses import replace

import dagster as dg
import pytest
from dagster._core.test_utils import create_run_for_test
from dagster._core.utils import make_new_run_id

from binance_assets.cli import main
from binance_assets.errors import ConfigurationError
from binance_assets.lib.runs.crashed import CrashedRuns
from binance_assets.lib.runs.processes import Machine, Orchestrator, running

POOL = "clickhouse"


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        instance.event_log_storage.set_concurrency_slots(POOL, 5)  # room for every run of a test
        yield instance


@pytest.fixture
def sleeper():
    """A live process standing in for a run's orchestrator."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process
    process.kill()
    process.wait()


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def started_run(instance, pid: int, machine: Machine | None = None, since: float | None = None) -> dg.DagsterRun:
    """A STARTED run whose orchestrator (as it recorded itself) is ``pid``, holding the pool's slot."""
    run_id = make_new_run_id()
    orchestrator = Orchestrator(run_id, pid, since or time.time(), machine or Machine.here())
    run = create_run_for_test(
        instance, run_id=run_id, status=dg.DagsterRunStatus.STARTED, tags={"dagster/partition": "2024-02-29-00:00"}
    )
    instance.add_run_tags(run_id, orchestrator.tag())
    assert instance.event_log_storage.claim_concurrency_slot(POOL, run_id, "clickhouse_klines").is_claimed
    return run


def slot_holders(instance) -> list[str]:
    return [slot.run_id for slot in instance.event_log_storage.get_concurrency_info(POOL).claimed_slots]


def test_a_run_whose_process_is_gone_is_marked_failed_and_its_slot_freed(instance):
    run = started_run(instance, dead_pid())

    [cleanup] = CrashedRuns(instance).sweep()

    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
    assert slot_holders(instance) == []
    sentence = cleanup.sentence()
    assert sentence.startswith(f"Cleaned up run {run.run_id} (")
    assert "is gone — killed or crashed" in sentence and "marked it failed" in sentence
    assert f"freed its pool slot(s) {POOL} (clickhouse_klines)" in sentence
    failure = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records[0]
    assert "Marked failed by the run guard" in failure.event_log_entry.dagster_event.message
    assert CrashedRuns(instance).sweep() == []  # once


def test_a_live_run_a_run_of_another_machine_and_the_sweeping_run_itself_are_left_alone(instance, sleeper):
    alive = started_run(instance, sleeper.pid)
    here = Machine.here()
    elsewhere = started_run(instance, dead_pid(), machine=replace(here, host=f"not-{here.host}"))
    itself = started_run(instance, dead_pid())

    assert CrashedRuns(instance, own_run_id=itself.run_id).sweep() == []
    assert all(
        instance.get_run_by_id(r.run_id).status == dg.DagsterRunStatus.STARTED for r in (alive, elsewhere, itself)
    )


def test_a_reused_pid_is_not_taken_for_the_runs_process(instance, sleeper):
    # The run recorded its process before the live one with that pid was started: a different process.
    run = started_run(instance, sleeper.pid, since=running(sleeper.pid, time.time()).create_time() - 60)

    assert [c.run.run_id for c in CrashedRuns(instance).sweep()] == [run.run_id]


def test_a_run_inheriting_its_parents_process_tag_is_not_judged_by_it(instance):
    parent = started_run(instance, dead_pid())
    child = create_run_for_test(instance, status=dg.DagsterRunStatus.STARTED, tags=parent.tags)  # a re-execution

    swept = CrashedRuns(instance).sweep()

    assert [c.run.run_id for c in swept] == [parent.run_id]
    assert instance.get_run_by_id(child.run_id).status == dg.DagsterRunStatus.STARTED


def test_a_finished_run_still_holding_a_slot_gives_it_back(instance):
    run = started_run(instance, dead_pid())
    instance.report_run_failed(run, "failed elsewhere (e.g. by the code server) without freeing its slots")

    [cleanup] = CrashedRuns(instance).sweep()

    assert "it ended FAILURE but still held pool slots" in cleanup.sentence()
    assert slot_holders(instance) == []


def test_reclaim_forgets_a_run_from_another_machine_but_not_a_live_one(instance, sleeper):
    here = Machine.here()
    elsewhere = started_run(instance, sleeper.pid, machine=replace(here, host=f"not-{here.host}"))
    CrashedRuns(instance).forget(elsewhere.run_id)
    assert instance.get_run_by_id(elsewhere.run_id).status == dg.DagsterRunStatus.FAILURE
    assert slot_holders(instance) == []

    alive = started_run(instance, sleeper.pid)
    with pytest.raises(ConfigurationError, match=f"Run {alive.run_id} is still running .pid {sleeper.pid} on "):
        CrashedRuns(instance).forget(alive.run_id)
    assert slot_holders(instance) == [alive.run_id]


def test_binance_assets_reclaim_does_the_clean_up_from_the_command_line(instance, sleeper, capsys):
    crashed = started_run(instance, dead_pid())
    alive = started_run(instance, sleeper.pid)

    assert main(["reclaim"]) == 0
    assert capsys.readouterr().out.startswith(f"Cleaned up run {crashed.run_id} (")
    assert main(["reclaim"]) == 0
    assert "Nothing to clean up" in capsys.readouterr().out
    assert main(["reclaim", "--run", alive.run_id]) == 2  # refused: it still runs here
    assert f"Run {alive.run_id} is still running" in capsys.readouterr().err
    assert slot_holders(instance) == [alive.run_id]
