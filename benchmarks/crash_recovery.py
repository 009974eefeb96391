"""From a SIGKILL to the next run going on: real ``dagster asset materialize`` runs of the klines group
(no daemon; the repo's dagster.yaml, pools of 1) against the exchange stand-in, fresh lake and ClickHouse.

    uv run --locked python benchmarks/crash_recovery.py [--repeat 3] [--days 7]

- rerun: a range run is killed (its whole process group, as the out-of-memory killer or a crash
  would) while loading ClickHouse; the same command is started right away. From the SIGKILL: the
  rerun's run starting (RUN_START: the CLI has loaded Python, Dagster and the definitions), its
  clean-up line, its first step starting, and its load step starting (on the clickhouse slot the
  dead run held, after fetching and cleaning the range again).
- waiting: a second run, over other hours, already waits for the clickhouse slot when the first one
  is killed while holding it. From the SIGKILL until the second run's load step starts (the run
  guard sweeps every 10 s; Dagster retries a blocked claim within 15 s).

Each repeat is verified: the killed run is marked failed by the next one, which finishes with
every check passing and every candle once.
"""

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from binance_assets_tests.harness import STAND_IN_NOW_MS, CliRun, CliRuns, Pipeline, run_id_of  # noqa: E402
from binance_stand_in import ExchangeStandIn  # noqa: E402

FORMAT = "%Y-%m-%d-%H:%M"
LOAD_STARTS = 'STEP_START - Started execution of step "clickhouse_klines"'
CLICKHOUSE_STEPS = ("clickhouse_klines", "klines_checks")


def span(days: int, offset_days: int) -> tuple[str, str]:
    last = datetime.fromtimestamp(STAND_IN_NOW_MS / 1000, UTC) - timedelta(days=offset_days, hours=1)
    return (last - timedelta(days=days) + timedelta(hours=1)).strftime(FORMAT), last.strftime(FORMAT)


def verified(cli: CliRuns, killed: CliRun, survivor: CliRun) -> str:
    problems = []
    if survivor.finish() != 0:
        problems.append("the next run failed")
    crashed = run_id_of(killed)
    if f"Cleaned up run {crashed}" not in survivor.log:
        problems.append("the next run did not clean up the killed one (did it end on its own first?)")
    with cli.instance() as instance:
        if instance.get_run_by_id(crashed).status.value != "FAILURE":
            problems.append("the killed run is not marked failed")
    return "; ".join(problems) or "ok"


def rerun(work: Path, stand_in, days: int) -> dict:
    cli = CliRuns(Pipeline(stand_in, work))
    first, last = span(days, 0)
    killed = cli.start(first, last)
    killed.wait_for(LOAD_STARTS)
    killed_at = killed.kill()
    next_run = cli.start(first, last)
    next_run.wait_for(LOAD_STARTS)
    return {
        "scenario": "rerun",
        "run_starts_s": round(next_run.when(" - RUN_START - ") - killed_at, 1),
        "cleaned_up_s": round(next_run.when("Cleaned up run") - killed_at, 1),
        "first_step_starts_s": round(next_run.when(" - STEP_START - ") - killed_at, 1),
        "load_starts_s": round(next_run.when(LOAD_STARTS) - killed_at, 1),
        "verified": verified(cli, killed, next_run),
    }


def waiting(work: Path, stand_in, days: int) -> dict:
    cli = CliRuns(Pipeline(stand_in, work))
    # The holder covers four times the hours, so it still holds the clickhouse slot (loading, then checking)
    # when the waiter, started once the holder's load began, reaches its own load.
    holder = cli.start(*span(4 * days, days))
    holding = f'STEP_START - Started execution of step "{CLICKHOUSE_STEPS[0]}"'
    holder.wait_for(holding)
    waiter = cli.start(*span(days, 0))  # other hours: it waits for pool slots only, not for the run
    holder.wait_for(lambda: waiter.when("blocked by limit for pool clickhouse") is not None)
    killed_at = holder.kill()
    started = waiter.when(LOAD_STARTS)
    while started is None or started < killed_at:
        waiter.wait_for(lambda: waiter.when(LOAD_STARTS) is not None)
        started = waiter.when(LOAD_STARTS)
    return {
        "scenario": "waiting",
        "cleaned_up_s": round(waiter.when("Cleaned up run") - killed_at, 1) if waiter.when("Cleaned up run") else None,
        "load_starts_s": round(started - killed_at, 1),
        "verified": verified(cli, holder, waiter),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--days", type=int, default=7, help="hours of each run, in days")
    args = parser.parse_args()
    results = []
    for scenario in (rerun, waiting):
        for _ in range(args.repeat):
            work = Path(tempfile.mkdtemp(prefix="binance-crash-bench-"))
            with ExchangeStandIn(symbols=("BTCUSDT",), now_ms=STAND_IN_NOW_MS) as stand_in:
                result = scenario(work, stand_in, args.days)
            results.append(result)
            print(json.dumps(result), flush=True)
            if result["verified"] == "ok":
                shutil.rmtree(work, ignore_errors=True)
    print("\n| scenario | from SIGKILL to | median | max | runs verified |\n|---|---|---|---|---|")
    for scenario in ("rerun", "waiting"):
        rows = [r for r in results if r["scenario"] == scenario]
        for figure in ("run_starts_s", "cleaned_up_s", "first_step_starts_s", "load_starts_s"):
            values = [r[figure] for r in rows if r.get(figure) is not None]
            if values:
                ok = sum(r["verified"] == "ok" for r in rows)
                print(
                    f"| {scenario} | {figure[:-2].replace('_', ' ')} | {statistics.median(values):.1f} s "
                    f"| {max(values):.1f} s | {ok}/{len(rows)} |"
                )


if __name__ == "__main__":
    main()
