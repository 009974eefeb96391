"""Range backfills of the klines group through the real CLI, beside Dagster's own floor.

    uv run --locked python benchmarks/backfill.py                  # 30 days, then 17 months
    uv run --locked python benchmarks/backfill.py --ranges 30d     # one range
    uv run --locked python benchmarks/backfill.py --ranges 30d --variants all     # + ways to lower the floor
    uv run --locked python benchmarks/backfill.py --ranges 30d --sources rest,auto --symbols 1,10 --latency 0.05
    uv run --locked python benchmarks/backfill.py --ranges 17m --sources rest,auto --symbols 1,10 --latency 0.05 \
        --fetch-only                                               # raw_klines only: REST vs the bulk archive

Each figure is one ``dagster asset materialize --partition-range`` run (BTCUSDT, fresh lake,
ClickHouse and DAGSTER_HOME with the repo's dagster.yaml) against the exchange stand-in with zero
latency: wall time, kline requests, weight, 429s, peak RSS (largest process, and the whole process
tree), then the same CLI run of ``benchmarks/null_pipeline.py`` (same assets, checks, partitions and
backfill policy; bodies that do nothing). Each run is verified, not just timed: every hour's checks
must pass and ClickHouse must hold every candle once.

``--sources`` compares ``KLINES_SOURCE`` values (rest: 1000-candle REST pages; auto: the bulk archive for
published months and days), ``--symbols`` the number of symbols, ``--latency`` adds seconds to every
stand-in answer (REST and archive alike), ``--fetch-only`` runs ``raw_klines`` alone (and the null
pipeline's ``raw_klines``). Each row then also shows the fetch's own time (the raw step, without
Dagster's bookkeeping), the archive files and bytes downloaded, and the REST kline requests.

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


def market_now_ms(last_hour: datetime) -> int:
    """The stand-in's clock: a day after the month of the range's last hour ended, so every candle of the
    range is closed and every month it touches is in the archive, as for any backfill of history."""
    month_end = (last_hour.replace(day=1, hour=0) + timedelta(days=32)).replace(day=1)
    return int((month_end + timedelta(days=1)).timestamp() * 1000)


@dataclass(frozen=True)
class Case:
    """What one row measures besides the variant: the klines source, how many symbols, the latency."""

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


def _environment(work: Path, stand_in: ExchangeStandIn, variant: Variant, postgres_url: str | None, case: Case) -> dict:
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
        "BINANCE_ARCHIVE_URL": stand_in.archive_url,
        "KLINES_SOURCE": case.source,
        "BINANCE_SYMBOLS": ",".join(case.symbol_names),
        "LAKE_URL": str(work / "lake"),
        "CLICKHOUSE_URL": f"chdb://{work / 'clickhouse'}",
        "PARTITIONS_START": FIRST_HOUR.strftime(PARTITION_FORMAT),
    }


def _verify(env: dict, hours: int, real: bool, case: Case) -> tuple[str, dict]:
    """Every hour of every check passed (and, for the real pipeline, each candle is in ClickHouse once);
    fetch-only: every candle is in the raw lake. Also returns the raw step's own figures."""
    script = """
import json, os, dagster as dg
instance = dg.DagsterInstance.get()
run = instance.get_runs(limit=1)[0]
records = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
passed = sum(r.event_log_entry.dagster_event.event_specific_data.passed for r in records)
raw = {}
for record in instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records:
    materialization = record.event_log_entry.dagster_event.event_specific_data.materialization
    if materialization.asset_key.to_user_string() == "raw_klines":
        raw = {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
        break
rows = None
if os.environ.get("BENCH_REAL") == "1" and os.environ.get("BENCH_FETCH_ONLY") != "1":
    import clickhouse_connect
    client = clickhouse_connect.get_client(dsn=os.environ["CLICKHOUSE_URL"])
    rows = client.query("SELECT count(), uniqExact(trading_pair, open_time) FROM binance.klines FINAL").result_rows[0]
figures = {k: raw.get(k) for k in ("seconds", "dagster/row_count", "archive_files", "archive_bytes_downloaded")}
print(json.dumps([run.status.value, len(records), passed, rows, figures]))
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, "BENCH_REAL": "1" if real else "0", "BENCH_FETCH_ONLY": "1" if case.fetch_only else "0"},
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    status, evaluations, passed, rows, figures = json.loads(done.stdout.strip().splitlines()[-1])
    candles = 60 * hours * case.symbols
    problems = []
    if status != "SUCCESS":
        problems.append(f"run {status}")
    if not case.fetch_only and (evaluations != passed or evaluations != CHECKS_PER_HOUR * hours):
        problems.append(f"{passed}/{evaluations} check results passed, {CHECKS_PER_HOUR * hours} expected")
    if real and case.fetch_only and figures["dagster/row_count"] != candles:
        problems.append(f"the raw lake holds {figures['dagster/row_count']} candles, {candles} expected")
    if real and not case.fetch_only and rows != [candles, candles]:
        problems.append(f"ClickHouse holds {rows} (rows, distinct candles), {candles} expected")
    return "; ".join(problems) or "ok", figures


def run_once(
    real: bool, last_hour: datetime, variant: Variant, postgres_url: str | None, keep: bool, case: Case = Case()
) -> dict:
    hours = int((last_hour - FIRST_HOUR) / timedelta(hours=1)) + 1
    now_ms = market_now_ms(last_hour)
    work = Path(tempfile.mkdtemp(prefix="binance-bench-"))
    module, select = ("binance_assets.definitions", "group:klines") if real else ("benchmarks.null_pipeline", "*")
    if case.fetch_only:
        select = "raw_klines"
    span = f"{FIRST_HOUR.strftime(PARTITION_FORMAT)}...{last_hour.strftime(PARTITION_FORMAT)}"
    command = [DAGSTER, "asset", "materialize", "-m", module, "--select", select, "--partition-range", span]
    if variant.run_config:
        config = work / "run_config.yaml"
        config.write_text(variant.run_config)
        command += ["--config", str(config)]
    if variant.postgres:
        _reset_postgres(postgres_url)
    with ExchangeStandIn(symbols=case.symbol_names, now_ms=now_ms, latency_s=case.latency_s) as stand_in:
        env = _environment(work, stand_in, variant, postgres_url, case)
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
        zips = sum(r.path.endswith(".zip") and r.status == 200 for r in stand_in.requests)
    verdict, figures = _verify(env, hours, real, case) if code == 0 else (f"exit {code}, see {work / 'run.log'}", {})
    if not keep and verdict == "ok":
        shutil.rmtree(work, ignore_errors=True)
    return {
        "pipeline": ("klines" if real else "null") + (" raw_klines" if case.fetch_only else ""),
        "variant": variant.name,
        "source": case.source if real else None,
        "symbols": case.symbols,
        "latency_s": case.latency_s,
        "partitions": hours,
        "candles": 60 * hours * case.symbols,
        "wall_s": round(wall, 1),
        "ms_per_partition": round(1000 * wall / hours, 2),
        "kline_requests": klines if real else None,
        "weight": weight if real else None,
        "429s": throttled if real else None,
        "fetch_s": figures.get("seconds") if real else None,
        "archive_files": zips if real else None,
        "archive_mb": round((figures.get("archive_bytes_downloaded") or 0) / 1e6, 1) if real else None,
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
    parser.add_argument("--sources", default="rest", help="comma-separated KLINES_SOURCE values: rest, auto, archive")
    parser.add_argument("--symbols", default="1", help=f"comma-separated symbol counts (1–{len(SYMBOLS)})")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds the stand-in adds to every answer")
    parser.add_argument("--fetch-only", action="store_true", help="materialise raw_klines only")
    parser.add_argument("--only", choices=["klines", "null"], help="run one pipeline only")
    parser.add_argument("--keep", action="store_true", help="keep each run's folder (lake, warehouse, log)")
    args = parser.parse_args()

    names = [n for n in VARIANTS if args.postgres_url or not n.startswith("postgres")]
    variants = [VARIANTS[n] for n in (names if args.variants == "all" else args.variants.split(","))]
    if any(v.postgres for v in variants) and not args.postgres_url:
        parser.error("the postgres variants need --postgres-url")
    pipelines = [p == "klines" for p in ("klines", "null") if args.only in (None, p)]
    results = []
    cases = [
        Case(source, int(count), args.latency, args.fetch_only)
        for count in args.symbols.split(",")
        for source in args.sources.split(",")
    ]
    for name in args.ranges.split(","):
        last_hour = RANGES[name] - timedelta(hours=1)
        for variant in variants:
            floor = None  # Dagster's floor depends on neither the source nor the symbols: measured once
            for case in cases:
                klines = None
                for real in pipelines:
                    if real or floor is None:
                        result = run_once(real, last_hour, variant, args.postgres_url, args.keep, case)
                        results.append(result)
                        print(json.dumps(result), flush=True)
                        klines, floor = (result, floor) if real else (klines, result)
                if floor and klines:
                    print(f"# {name} {variant.name} {case}: klines / null = {klines['wall_s'] / floor['wall_s']:.2f}")
    print(
        "\n| range | pipeline | variant | source | symbols | latency s | partitions | wall s | ms/partition | fetch s "
        "| kline requests | weight | 429s | archive files | archive MB | peak RSS process MiB | peak RSS tree MiB "
        "| verified |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        span = "17 months" if r["partitions"] > 1000 else "30 days"
        dash = lambda value: "–" if value is None else value  # noqa: E731
        print(
            f"| {span} | {r['pipeline']} | {r['variant']} | {dash(r['source'])} | {r['symbols']} | {r['latency_s']} "
            f"| {r['partitions']:,} | {r['wall_s']} | {r['ms_per_partition']} | {dash(r['fetch_s'])} "
            f"| {dash(r['kline_requests'])} | {dash(r['weight'])} | {dash(r['429s'])} | {dash(r['archive_files'])} "
            f"| {dash(r['archive_mb'])} | {r['peak_rss_process_mib']} | {r['peak_rss_tree_mib']} | {r['verified']} |"
        )


if __name__ == "__main__":
    main()
