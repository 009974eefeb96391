"""Runs killed with SIGKILL (as an out-of-memory kill or a crash would) never block the next run, and
overlapping runs both finish: real ``dagster asset materialize`` runs on the repo's dagster.yaml
(pools of 1), no daemon. Runs whose executor does not matter run in-process (no Python start per
step) to keep the suite lean; the one killed while loading uses the default multiprocess executor,
whose step processes outlive a killed CLI."""

import dagster as dg
import pytest

from binance_assets.definitions import defs
from binance_assets_tests.harness import CliRuns, klines_outcomes, run_id_of

FIRST, LAST = "2024-02-28-00:00", "2024-02-28-23:00"  # 24 hours: 2 pages of klines
# The per-hour checks a run of the klines group evaluates (those of its clean and warehouse assets).
KLINES_CHECKS = sum(
    check.asset_key.to_user_string() in ("klines_parquet", "clickhouse_klines")
    for check in defs.resolve_asset_graph().asset_check_keys
)


@pytest.mark.timeout(600)
def test_a_run_killed_while_fetching_loading_or_checking_leaves_no_trace_the_next_run_trips_on(pipeline, stand_in):
    cli = CliRuns(pipeline)
    stand_in.latency_s = 1.0  # a slow exchange: the fetch is still going when it is killed

    fetching = cli.start(FIRST, LAST, in_process=True)
    fetching.wait_for(lambda: stand_in.count(path="/api/v3/klines") >= 1)
    fetching.kill()  # the whole process group
    stand_in.latency_s = 0.0

    loading = cli.start(FIRST, LAST)
    loading.wait_for('STEP_START - Started execution of step "clickhouse_klines"')
    loading.kill(whole_group=False)  # the CLI alone: its step processes live on as orphans

    checking = cli.start(FIRST, LAST, in_process=True)
    checking.wait_for('STEP_START - Started execution of step "klines_checks"')
    checking.kill()

    final = cli.start(FIRST, LAST, in_process=True)
    assert final.finish() == 0, final.log

    killed = [run_id_of(run) for run in (fetching, loading, checking)]
    for crashed, next_run in zip(killed, (loading, checking, final), strict=True):
        cleaned = next(line for line in next_run.lines if f"Cleaned up run {crashed}" in line)
        assert "is gone — killed or crashed" in cleaned and "marked it failed" in cleaned
    orphans = next(line for line in checking.lines if "stopped its orphaned step process(es)" in line)
    assert "clickhouse_klines (pid " in orphans  # the killed load's step process, left behind by its CLI
    with cli.instance() as instance:
        assert [instance.get_run_by_id(r).status for r in killed] == [dg.DagsterRunStatus.FAILURE] * 3
        assert not instance.event_log_storage.get_concurrency_run_ids()  # every slot given back
        outcomes = klines_outcomes(pipeline, instance, FIRST, LAST)
    assert set(outcomes.values()) == {"exact"}
    assert pipeline.query("SELECT count() FROM binance.klines FINAL") == [(24 * 60,)]


@pytest.mark.timeout(600)
def test_two_overlapping_range_runs_started_at_once_both_finish_exactly(pipeline):
    cli = CliRuns(pipeline)

    first = cli.start("2024-02-27-00:00", "2024-02-27-11:00", in_process=True)
    second = cli.start("2024-02-27-06:00", "2024-02-27-17:00", in_process=True)

    assert (first.finish(), second.finish()) == (0, 0), first.log + second.log
    runs = {run_id_of(first): first, run_id_of(second): second}
    waiter = next(run_id for run_id, run in runs.items() if "Waiting for run" in run.log)  # the later one
    waited_for = next(run_id for run_id in runs if run_id != waiter)
    waiting = next(line for line in runs[waiter].lines if "Waiting for run" in line)
    assert f"Waiting for run {waited_for} (" in waiting
    assert "also writes hours 2024-02-27-06:00...2024-02-27-11:00 of clickhouse_klines, klines_parquet, raw_klines" in (
        waiting
    )
    assert "Earlier overlapping runs have ended" in runs[waiter].log
    assert "Waiting for run" not in runs[waited_for].log  # the earlier one never waited
    with cli.instance() as instance:
        outcomes = klines_outcomes(pipeline, instance, "2024-02-27-00:00", "2024-02-27-17:00")
        checks = instance.event_log_storage.get_event_records(
            dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION), limit=1000
        )
    assert set(outcomes.values()) == {"exact"}
    assert len(checks) == KLINES_CHECKS * 24 and all(
        r.event_log_entry.dagster_event.event_specific_data.passed for r in checks
    )
