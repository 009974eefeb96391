"""Range backfills of the klines group through the real CLI, beside Dagster's own floor.

    uv run --locked python benchmarks/backfill.py                  # 30 days, then 17 months
    uv run --locked python benchmarks/backfill.py --ranges 30d     # one range
    uv run --locked python benchmarks/backfill.py --ranges 30d --variants all     # + ways to lower the floor

Each figure is one ``dagster asset materialize --partition-range`` run (BTCUSDT, fresh lake,
ClickHouse and DAGSTER_HOME with the repo's dagster.yaml) against the exchange stand-in with zero
latency: wall time, kline requests, weight, 429s, peak RSS (largest process, and the whole process
tree), then the same CLI run of ``benchmarks/null_pipeline.py`` (same assets, checks, partitions and
backfill policy; bodies that do nothing). Each run is verified, not just timed: every hour's checks
must pass and ClickHouse must hold every candle once.

``--variants`` repeats both pipelines with each legitimate way to lower the floor that Dagster
offers: the in-process executor (no process per step), one planned event per asset instead
of one per partition (``DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS``), and, with
``--postgres-url``, Postgres storage with event batching (``DAGSTER_EVENT_BATCH_SIZE``).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

# klines_complete, klines_ohlc_valid, klines_reconciled, klines_stream_agrees
CHECKS_PER_HOUR = 4
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from binance_assets.lib.partitions import PARTITION_FORMAT  # noqa: E402
from binance_stand_in import ExchangeStandIn  # noqa: E402

DAGSTER = str(Path(sys.executable).parent / "dagster")
FIRST_HOUR = datetime(2024, 1, 1, tzinfo=UTC)
RANGES = {"30d": FIRST_HOUR + timedelta(days=30), "17m": datetime(2025, 6, 1, tzinfo=UTC)}
IN_PROCESS = "execution: {config: {in_process: {}}}"


@dataclass
class Variant:
    name: str
    env: dict = field(default_factory=dict)
    run_config: str | None = None
    postgres: bool = False


VARIANTS = {
    "default": Variant("default (SQLite, multiprocess)"),
    "in-process": Variant("in-process executor", run_config=IN_PROCESS),
    "planned-subset": Variant(
        "one planned event per asset", env={"DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "1"}
    ),
    "in-process+planned-subset": Variant(
        "in-process + one planned event",
        env={"DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "1"},
        run_config=IN_PROCESS,
    ),
    "postgres": Variant("Postgres", postgres=True),
    "postgres+batch": Variant(
        "Postgres + event batches of 100", env={"DAGSTER_EVENT_BATCH_SIZE": "100"}, postgres=True
    ),
    "postgres+batch+in-process": Variant(
        "Postgres + batches + in-process",
        env={"DAGSTER_EVENT_BATCH_SIZE": "100"},
        run_config=IN_PROCESS,
        postgres=True,
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


def _environment(work: Path, stand_in: ExchangeStandIn, variant: Variant, postgres_url: str | None) -> dict:
    home = work / "dagster_home"
    home.mkdir()
    instance = (REPO / "dagster.yaml").read_text()
    if variant.postgres:
        instance += f"\nstorage:\n  postgres:\n    postgres_url: {postgres_url}\n"
    (home / "dagster.yaml").write_text(instance)
    return {
        **os.environ,
        **variant.env,
        "DAGSTER_HOME": str(home),
        "BINANCE_API_URL": stand_in.url,
        "BINANCE_SYMBOLS": "BTCUSDT",
        "LAKE_URL": str(work / "lake"),
        "CLICKHOUSE_URL": f"chdb://{work / 'clickhouse'}",
        "PARTITIONS_START": FIRST_HOUR.strftime(PARTITION_FORMAT),
    }


def _verify(env: dict, hours: int, real: bool) -> str:
    """Every hour of every check passed (and, for the real pipeline, each candle is in ClickHouse once)."""
    script = """
import json, os, dagster as dg
instance = dg.DagsterInstance.get()
run = instance.get_runs(limit=1)[0]
records = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
passed = sum(r.event_log_entry.dagster_event.event_specific_data.passed for r in records)
rows = None
if os.environ.get("BENCH_REAL") == "1":
    import clickhouse_connect
    client = clickhouse_connect.get_client(dsn=os.environ["CLICKHOUSE_URL"])
    rows = client.query("SELECT count(), uniqExact(open_time) FROM binance.klines FINAL").result_rows[0]
print(json.dumps([run.status.value, len(records), passed, rows]))
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, "BENCH_REAL": "1" if real else "0"},
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    status, evaluations, passed, rows = json.loads(done.stdout.strip().splitlines()[-1])
    problems = []
    if status != "SUCCESS":
        problems.append(f"run {status}")
    if evaluations != passed or evaluations != CHECKS_PER_HOUR * hours:
        problems.append(f"{passed}/{evaluations} check results passed, {CHECKS_PER_HOUR * hours} expected")
    if real and rows != [60 * hours, 60 * hours]:
        problems.append(f"ClickHouse holds {rows} (rows, distinct candles), {60 * hours} expected")
    return "; ".join(problems) or "ok"


def run_once(real: bool, last_hour: datetime, variant: Variant, postgres_url: str | None, keep: bool) -> dict:
    hours = int((last_hour - FIRST_HOUR) / timedelta(hours=1)) + 1
    now_ms = int((last_hour + timedelta(days=1)).timestamp() * 1000)
    work = Path(tempfile.mkdtemp(prefix="binance-bench-"))
    module, select = ("binance_assets.definitions", "group:klines") if real else ("benchmarks.null_pipeline", "*")
    span = f"{FIRST_HOUR.strftime(PARTITION_FORMAT)}...{last_hour.strftime(PARTITION_FORMAT)}"
    command = [DAGSTER, "asset", "materialize", "-m", module, "--select", select, "--partition-range", span]
    if variant.run_config:
        config = work / "run_config.yaml"
        config.write_text(variant.run_config)
        command += ["--config", str(config)]
    if variant.postgres:
        _reset_postgres(postgres_url)
    with ExchangeStandIn(symbols=("BTCUSDT",), now_ms=now_ms) as stand_in:
        env = _environment(work, stand_in, variant, postgres_url)
        log = (work / "run.log").open("w")
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        with PeakRss(process.pid) as rss:
            code = process.wait()
        wall = time.perf_counter() - started
        log.close()
        klines = stand_in.count(path="/api/v3/klines")
        weight = sum(r.weight for r in stand_in.requests)
        throttled = stand_in.count(status=429)
    verdict = _verify(env, hours, real) if code == 0 else f"exit {code}, see {work / 'run.log'}"
    if not keep and verdict == "ok":
        shutil.rmtree(work, ignore_errors=True)
    return {
        "pipeline": "klines" if real else "null",
        "variant": variant.name,
        "partitions": hours,
        "candles": 60 * hours,
        "wall_s": round(wall, 1),
        "ms_per_partition": round(1000 * wall / hours, 2),
        "kline_requests": klines if real else None,
        "weight": weight if real else None,
        "429s": throttled if real else None,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ranges", default="30d,17m", help="comma-separated: 30d (720 hours), 17m (12,408 hours)")
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
    parser.add_argument("--keep", action="store_true", help="keep each run's folder (lake, warehouse, log)")
    args = parser.parse_args()

    names = [n for n in VARIANTS if args.postgres_url or not n.startswith("postgres")]
    variants = [VARIANTS[n] for n in (names if args.variants == "all" else args.variants.split(","))]
    if any(v.postgres for v in variants) and not args.postgres_url:
        parser.error("the postgres variants need --postgres-url")
    pipelines = [p == "klines" for p in ("klines", "null") if args.only in (None, p)]
    results = []
    for name in args.ranges.split(","):
        last_hour = RANGES[name] - timedelta(hours=1)
        for variant in variants:
            by_pipeline = {}
            for real in pipelines:
                result = run_once(real, last_hour, variant, args.postgres_url, args.keep)
                by_pipeline[result["pipeline"]] = result
                results.append(result)
                print(json.dumps(result), flush=True)
            if len(by_pipeline) == 2:
                ratio = by_pipeline["klines"]["wall_s"] / by_pipeline["null"]["wall_s"]
                print(f"# {name} {variant.name}: klines / null = {ratio:.2f}", flush=True)
    print(
        "\n| range | pipeline | variant | partitions | wall s | ms/partition | kline requests | weight | 429s "
        "| peak RSS process MiB | peak RSS tree MiB | verified |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        span = "17 months" if r["partitions"] > 1000 else "30 days"
        print(
            f"| {span} | {r['pipeline']} | {r['variant']} | {r['partitions']:,} | {r['wall_s']} | {r['ms_per_partition']} "
            f"| {r['kline_requests'] or '–'} | {r['weight'] or '–'} | {r['429s'] if r['429s'] is not None else '–'} "
            f"| {r['peak_rss_process_mib']} | {r['peak_rss_tree_mib']} | {r['verified']} |"
        )


if __name__ == "__main__":
    main()
