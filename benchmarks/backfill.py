r"""Range backfills and the hourly tick of the klines group through the real CLI, beside Dagster's own floor.

    uv run --locked python benchmarks/backfill.py                                   # 30 days, then 17 months
    uv run --locked python benchmarks/backfill.py --ranges 1h --repeat 3            # the hourly tick
    uv run --locked python benchmarks/backfill.py --ranges 30d --symbols 1,10 --variants default,planned-subset
    uv run --locked python benchmarks/backfill.py --ranges 30d --variants all --postgres-url postgresql+psycopg2://u:p@host/db
    uv run --locked python benchmarks/backfill.py --ranges 30d --sources rest,auto --symbols 1,10 --latency 0.05
    uv run --locked python benchmarks/backfill.py --ranges 17m --sources rest,auto --symbols 1,10 --latency 0.05 \
        --fetch-only                                               # raw_klines only: REST vs the bulk archive

Each figure is one ``dagster asset materialize`` run (``--partition`` for the 1-hour tick,
``--partition-range`` otherwise; fresh lake, ClickHouse and DAGSTER_HOME with the repo's
dagster.yaml) against the exchange stand-in (by default BTCUSDT over REST with zero latency), then
the same CLI run of ``benchmarks/null_pipeline.py`` (same assets, checks, steps, pools, partitions
and backfill policy; bodies that do nothing) with the same variant, so both record the same
UI-visible events per hour. Reported: wall time, CPU time of the whole process tree (steadier than
wall time on a shared machine), time until the first step starts (creating the run writes its
planned events), events per hour, the fetch's own time (the raw step, without Dagster's
bookkeeping), kline requests, weight, 429s, archive files and bytes downloaded, and peak RSS
(largest process, and the whole process tree). Each run is verified, not just timed: the run
succeeded, every hour of every check passed naming the materialization it checked, and ClickHouse
holds every candle once (with ``--fetch-only``: the raw lake holds every candle). ``--repeat``
reports the median of several runs, ``--only`` runs one pipeline. The project's own modules are
compiled to bytecode first, as ``scripts/bootstrap.sh`` does.

``--sources`` compares ``KLINES_SOURCE`` values (rest: 1000-candle REST pages; auto: the bulk archive for
published months and days), ``--symbols`` the number of symbols, ``--latency`` adds seconds to every
stand-in answer (REST and archive alike), ``--fetch-only`` runs ``raw_klines`` alone (and the null
pipeline's ``raw_klines``). Dagster's floor depends on none of these: the null pipeline runs once per
range and variant.

Variants (``--variants``, comma-separated or ``all``), each a legitimate way to lower Dagster's
floor: ``in-process`` (one process for the whole run: ``--config`` with the in-process executor),
``forkserver`` (step processes forked from a preloaded server), ``planned-subset`` (one planned
event per asset instead of one per hour: ``DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS``),
both, and with ``--postgres-url`` Postgres storage with and without event batching
(``DAGSTER_EVENT_BATCH_SIZE``).
"""

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

# The klines group's partitioned checks, one result each per hour whatever the symbols (raw_klines has
# none): klines_complete, klines_ohlc_valid, klines_reconciled, klines_stream_agrees
CHECKS_PER_HOUR = 4
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from binance_assets.lib.partitions import PARTITION_FORMAT  # noqa: E402
from binance_assets.settings import KLINES_SOURCES  # noqa: E402
from binance_stand_in import ExchangeStandIn  # noqa: E402

DAGSTER = str(Path(sys.executable).parent / "dagster")
FIRST_HOUR = datetime(2024, 1, 1, tzinfo=UTC)
# The first hour after each range (the 1-hour tick is the range's only hour).
RANGES = {
    "1h": FIRST_HOUR + timedelta(hours=1),
    "30d": FIRST_HOUR + timedelta(days=30),
    "17m": datetime(2025, 6, 1, tzinfo=UTC),
}
SYMBOLS = (
    "BTCUSDT",
    "ETHUSDT",
    "BNBUSDT",
    "SOLUSDT",
    "XRPUSDT",
    "ADAUSDT",
    "DOGEUSDT",
    "LTCUSDT",
    "DOTUSDT",
    "LINKUSDT",
)
IN_PROCESS = "execution: {config: {in_process: {}}}"
FORKSERVER = "execution: {config: {multiprocess: {start_method: {forkserver: {}}}}}"
PLANNED = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"


def market_now_ms(last_hour: datetime) -> int:
    """The stand-in's clock: a day after the month of the range's last hour ended, so every candle of the
    range is closed and every month it touches is in the archive, as for any backfill of history."""
    month_end = (last_hour.replace(day=1, hour=0) + timedelta(days=32)).replace(day=1)
    return int((month_end + timedelta(days=1)).timestamp() * 1000)


@dataclass(frozen=True)
class Case:
    """What one row measures besides the range and the variant: the klines source, how many symbols, the
    stand-in's latency, and whether raw_klines runs alone."""

    source: str = "rest"
    symbols: int = 1
    latency_s: float = 0.0
    fetch_only: bool = False

    @property
    def symbol_names(self) -> tuple[str, ...]:
        return SYMBOLS[: self.symbols]


@dataclass
class Variant:
    name: str
    env: dict = field(default_factory=dict)
    run_config: str | None = None
    postgres: bool = False


VARIANTS = {
    "default": Variant("default (SQLite, multiprocess)"),
    "in-process": Variant("in-process executor", run_config=IN_PROCESS),
    "forkserver": Variant("step processes forked from a preloaded server", run_config=FORKSERVER),
    "planned-subset": Variant("one planned event per asset", env={PLANNED: "1"}),
    "in-process+planned-subset": Variant("in-process + one planned event", env={PLANNED: "1"}, run_config=IN_PROCESS),
    "postgres": Variant("Postgres", postgres=True),
    "postgres+batch": Variant(
        "Postgres + event batches of 100", env={"DAGSTER_EVENT_BATCH_SIZE": "100"}, postgres=True
    ),
    "postgres+batch+in-process": Variant(
        "Postgres + batches + in-process", env={"DAGSTER_EVENT_BATCH_SIZE": "100"}, run_config=IN_PROCESS, postgres=True
    ),
}


class PeakRss:
    """Samples the resident memory of a process and all its descendants (Linux /proc)."""

    def __init__(self, pid: int, every_s: float = 0.2):
        self.pid, self.every_s = pid, every_s
        self.tree_mib = self.process_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self):
        while not self._stop.wait(self.every_s):
            rss = [_rss_mib(p) for p in _descendants(self.pid)]
            if rss:
                self.tree_mib = max(self.tree_mib, sum(rss))
                self.process_mib = max(self.process_mib, *rss)


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(parent, []).append(int(entry.name))
    return tree


def _descendants(pid: int) -> list[int]:
    tree, found, todo = _children(), [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(tree.get(current, []))
    return found


def _rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _environment(work: Path, stand_in: ExchangeStandIn, variant: Variant, case: Case, postgres_url: str | None) -> dict:
    home = work / "dagster_home"
    home.mkdir()
    instance = (REPO / "dagster.yaml").read_text()
    if variant.postgres:
        instance += f"\nstorage:\n  postgres:\n    postgres_url: {postgres_url}\n"
    (home / "dagster.yaml").write_text(instance)
    return {
        **{k: v for k, v in os.environ.items() if k != PLANNED},
        **variant.env,
        "DAGSTER_HOME": str(home),
        "BINANCE_API_URL": stand_in.url,
        "BINANCE_ARCHIVE_URL": stand_in.archive_url,
        "KLINES_SOURCE": case.source,
        "BINANCE_SYMBOLS": ",".join(case.symbol_names),
        "LAKE_URL": str(work / "lake"),
        "CLICKHOUSE_URL": f"chdb://{work / 'clickhouse'}",
        "PARTITIONS_START": FIRST_HOUR.strftime(PARTITION_FORMAT),
    }


# Reads the run back from the instance: its outcome, its events (per type, and when the first step
# started), the check results, the raw step's own figures, and with BENCH_CLICKHOUSE what ClickHouse holds.
INSPECT = """
import collections, json, os, dagster as dg
instance = dg.DagsterInstance.get()
run = instance.get_runs(limit=1)[0]
records = instance.get_records_for_run(run.run_id, limit=10_000_000).records
def data(event_type):
    return [r.event_log_entry.dagster_event.event_specific_data for r in records
            if r.event_log_entry.dagster_event_type == event_type]
types = collections.Counter(r.event_log_entry.dagster_event_type.value for r in records if r.event_log_entry.is_dagster_event)
starts = [r.timestamp for r in records if r.event_log_entry.dagster_event_type == dg.DagsterEventType.STEP_START]
checks = data(dg.DagsterEventType.ASSET_CHECK_EVALUATION)
raw = next((d.materialization.metadata for d in data(dg.DagsterEventType.ASSET_MATERIALIZATION)
            if d.materialization.asset_key.to_user_string() == "raw_klines"), {})
fetch = {k: getattr(raw.get(k), "value", None) for k in ("seconds", "dagster/row_count", "archive_bytes_downloaded")}
rows = None
if os.environ.get("BENCH_CLICKHOUSE") == "1":
    import clickhouse_connect
    client = clickhouse_connect.get_client(dsn=os.environ["CLICKHOUSE_URL"])
    rows = client.query("SELECT count(), uniqExact(trading_pair, open_time) FROM binance.klines FINAL").result_rows[0]
print(json.dumps({"status": run.status.value, "events": len(records), "types": types, "first_step": min(starts),
                  "checks": len(checks), "passed": sum(c.passed for c in checks),
                  "targeted": sum(c.target_materialization_data is not None for c in checks), "rows": rows,
                  "fetch": fetch}))
"""


def _inspect(env: dict, real: bool, case: Case) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", INSPECT],
        env={**env, "BENCH_CLICKHOUSE": "1" if real and not case.fetch_only else "0"},
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _verdict(found: dict, hours: int, real: bool, case: Case) -> str:
    problems = []
    if found["status"] != "SUCCESS":
        problems.append(f"run {found['status']}")
    checks = 0 if case.fetch_only else CHECKS_PER_HOUR * hours
    if not (found["checks"] == found["passed"] == found["targeted"] == checks):
        problems.append(
            f"{found['passed']}/{found['checks']} check results passed ({found['targeted']} naming their "
            f"materialization), {checks} expected"
        )
    candles = 60 * hours * case.symbols
    if real and case.fetch_only and found["fetch"]["dagster/row_count"] != candles:
        problems.append(f"the raw lake holds {found['fetch']['dagster/row_count']} candles, {candles} expected")
    if real and not case.fetch_only and found["rows"] != [candles, candles]:
        problems.append(f"ClickHouse holds {found['rows']} (rows, distinct candles), {candles} expected")
    return "; ".join(problems) or "ok"


def run_once(real: bool, span: str, case: Case, variant: Variant, postgres_url: str | None, keep: bool) -> dict:
    last_hour = RANGES[span] - timedelta(hours=1)
    hours = int((last_hour - FIRST_HOUR) / timedelta(hours=1)) + 1
    work = Path(tempfile.mkdtemp(prefix="binance-bench-"))
    module, select = ("binance_assets.definitions", "group:klines") if real else ("benchmarks.null_pipeline", "*")
    if case.fetch_only:
        select = "raw_klines"
    first, last = FIRST_HOUR.strftime(PARTITION_FORMAT), last_hour.strftime(PARTITION_FORMAT)
    partitions = ["--partition", first] if hours == 1 else ["--partition-range", f"{first}...{last}"]
    command = [DAGSTER, "asset", "materialize", "-m", module, "--select", select, *partitions]
    if variant.run_config:
        config = work / "run_config.yaml"
        config.write_text(variant.run_config)
        command += ["--config", str(config)]
    if variant.postgres:
        _reset_postgres(postgres_url)
    now_ms = market_now_ms(last_hour)
    with ExchangeStandIn(symbols=case.symbol_names, now_ms=now_ms, latency_s=case.latency_s) as stand_in:
        env = _environment(work, stand_in, variant, case, postgres_url)
        log = (work / "run.log").open("w")
        launched = time.time()
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        with PeakRss(process.pid) as rss:
            # wait4: the CPU time of the CLI process and every step process it reaped
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = code = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        log.close()
        klines = stand_in.count(path="/api/v3/klines")
        weight = sum(r.weight for r in stand_in.requests)
        throttled = stand_in.count(status=429)
        zips = sum(r.path.endswith(".zip") and r.status == 200 for r in stand_in.requests)
    found = _inspect(env, real, case) if code == 0 else None
    verdict = _verdict(found, hours, real, case) if found else f"exit {code}, see {work / 'run.log'}"
    if not keep and verdict == "ok":
        shutil.rmtree(work, ignore_errors=True)
    types, fetch = (found["types"], found["fetch"]) if found else ({}, {})
    asset_events = ("ASSET_MATERIALIZATION_PLANNED", "ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION")
    return {
        "range": span,
        "pipeline": ("klines" if real else "null") + (" raw_klines" if case.fetch_only else ""),
        "variant": variant.name,
        "source": case.source if real else None,
        "symbols": case.symbols if real else None,
        "latency_s": case.latency_s if real else None,
        "hours": hours,
        "candles": 60 * hours * case.symbols if real else None,
        "wall_s": round(wall, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "until_first_step_s": round(found["first_step"] - launched, 1) if found else None,
        "events_per_hour": round(found["events"] / hours, 2) if found else None,
        "asset_events_per_hour": round(sum(types.get(t, 0) for t in asset_events) / hours, 2),
        "planned_events": types.get("ASSET_MATERIALIZATION_PLANNED"),
        "fetch_s": fetch.get("seconds") if real else None,
        "kline_requests": klines if real else None,
        "weight": weight if real else None,
        "429s": throttled if real else None,
        "archive_files": zips if real else None,
        "archive_mb": round((fetch.get("archive_bytes_downloaded") or 0) / 1e6, 1) if real else None,
        "peak_rss_process_mib": round(rss.process_mib),
        "peak_rss_tree_mib": round(rss.tree_mib),
        "verified": verdict,
    }


def _reset_postgres(url: str) -> None:
    """A fresh schema for each Postgres run, so no run inherits another's history."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    with engine.begin() as con:
        con.execute(sqlalchemy.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def _median(results: list[dict]) -> dict:
    """The run of median wall time (its other figures with it), the median CPU time and the repeats."""
    ordered = sorted(results, key=lambda r: r["wall_s"])
    middle = dict(ordered[len(ordered) // 2])
    if len(results) > 1:
        middle["cpu_s"] = round(statistics.median(r["cpu_s"] for r in results), 1)
        middle["wall_s_runs"] = [r["wall_s"] for r in results]
        middle["cpu_s_runs"] = [r["cpu_s"] for r in results]
    if any(r["verified"] != "ok" for r in results):
        middle["verified"] = "; ".join(sorted({r["verified"] for r in results if r["verified"] != "ok"}))
    return middle


# The summary table: each column's figure and heading.
COLUMNS = {
    "range": "range",
    "pipeline": "pipeline",
    "variant": "variant",
    "source": "source",
    "symbols": "symbols",
    "latency_s": "latency s",
    "wall_s": "wall s",
    "cpu_s": "CPU s",
    "until_first_step_s": "until 1st step s",
    "events_per_hour": "events/hour",
    "fetch_s": "fetch s",
    "kline_requests": "kline requests",
    "weight": "weight",
    "429s": "429s",
    "archive_files": "archive files",
    "archive_mb": "archive MB",
    "peak_rss_process_mib": "peak RSS process MiB",
    "peak_rss_tree_mib": "peak RSS tree MiB",
    "verified": "verified",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--ranges", default="30d,17m", help="comma-separated: 1h (the tick), 30d (720 hours), 17m (12,408 hours)"
    )
    parser.add_argument(
        "--sources", default="rest", help=f"comma-separated KLINES_SOURCE values: {', '.join(KLINES_SOURCES)}"
    )
    parser.add_argument("--symbols", default="1", help=f"comma-separated symbol counts, e.g. 1,10 (1–{len(SYMBOLS)})")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds the stand-in adds to every answer")
    parser.add_argument("--fetch-only", action="store_true", help="materialise raw_klines only")
    parser.add_argument(
        "--variants",
        default="default",
        help=f"comma-separated, or 'all': {', '.join(VARIANTS)} (postgres* need --postgres-url)",
    )
    parser.add_argument(
        "--postgres-url",
        help="postgresql+psycopg2://user:password@host/db of a scratch database: adds the Postgres variants",
    )
    parser.add_argument("--only", choices=["klines", "null"], help="run one pipeline only")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each figure; the median is reported")
    parser.add_argument("--keep", action="store_true", help="keep each run's folder (lake, warehouse, log)")
    args = parser.parse_args()

    names = [n for n in VARIANTS if args.postgres_url or not n.startswith("postgres")]
    variants = [VARIANTS[n] for n in (names if args.variants == "all" else args.variants.split(","))]
    if any(v.postgres for v in variants) and not args.postgres_url:
        parser.error("the postgres variants need --postgres-url")
    sources, symbol_counts = args.sources.split(","), [int(n) for n in args.symbols.split(",")]
    if not set(sources) <= set(KLINES_SOURCES):
        parser.error(f"--sources: among {', '.join(KLINES_SOURCES)}")
    if not all(1 <= n <= len(SYMBOLS) for n in symbol_counts):
        parser.error(f"--symbols: between 1 and {len(SYMBOLS)}")
    cases = []  # (real, case): every klines case, then Dagster's floor, which depends on none of them
    if args.only in (None, "klines"):
        cases += [(True, Case(source, n, args.latency, args.fetch_only)) for n in symbol_counts for source in sources]
    if args.only in (None, "null"):
        cases.append((False, Case(fetch_only=args.fetch_only)))
    compileall.compile_dir(REPO / "binance_assets", quiet=1)  # as scripts/bootstrap.sh does
    compileall.compile_dir(REPO / "benchmarks", quiet=1)
    results = []
    for span in args.ranges.split(","):
        for variant in variants:
            measured = []
            for real, case in cases:
                runs = [run_once(real, span, case, variant, args.postgres_url, args.keep) for _ in range(args.repeat)]
                measured.append((real, case, _median(runs)))
                print(json.dumps(measured[-1][2]), flush=True)
            floor = next((result for real, _, result in measured if not real), None)
            for real, case, result in measured:
                if real and floor:
                    print(f"# {span} {variant.name} {case}: klines / null = {result['wall_s'] / floor['wall_s']:.2f}")
            results += [result for _, _, result in measured]
    print("\n| " + " | ".join(COLUMNS.values()) + " |")
    print("|" + "---|" * len(COLUMNS))
    for r in results:
        print("| " + " | ".join("–" if r[key] is None else str(r[key]) for key in COLUMNS) + " |")


if __name__ == "__main__":
    main()
