"""Running the real definitions against the stand-in, a temp lake and chdb: in-process, or through the
``dagster`` CLI; a second process holding the embedded ClickHouse; and the invariant every fault must
leave intact."""

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import clickhouse_connect
import dagster as dg
from dagster._core.test_utils import create_test_daemon_workspace_context
from dagster._core.workspace.load_target import ModuleTarget
from dagster_aws.s3 import S3Resource

from binance_assets.definitions import defs
from binance_assets.defs.klines.live.raw import read_status
from binance_assets.lib.partitions import PARTITION_FORMAT, hourly_partitions, parse_hour, to_ms
from binance_assets.resources.binance import BinanceArchive, BinanceExchange
from binance_assets.resources.clickhouse import ClickHouseWarehouse
from binance_assets.resources.duckdb import DuckDB
from binance_assets.resources.lake import LakeResource
from binance_assets.resources.lake.layout import clean_file, raw_file
from binance_assets.settings import TrackedSymbols
from binance_assets.stream.service import LiveKlines

REPO = Path(__file__).resolve().parents[1]
BINANCE_ASSETS = str(Path(sys.executable).parent / "binance-assets")  # the installed console script
# 2024-03-01 00:00 UTC: the stand-in's clock, so hours before it are closed and the hour at it is open.
STAND_IN_NOW_MS = 1_709_251_200_000
# 2025-03-05 12:00 UTC: a clock for the bulk archive, whose spot files switched to µs on 2025-01-01:
# every month and day before 2025-03-05 is published, 2025-03-05 itself is not.
ARCHIVE_NOW_MS = 1_741_176_000_000
# The order-book hour the live stand-in starts in, and its raw folder.
ORDER_BOOK_HOUR = "2024-02-29-22:00"
ORDER_BOOK_FOLDER = "raw/order_book/symbol={}/year=2024/month=02/day=29/hour=22"
ORDER_BOOK_HOURLY = dg.AssetSelection.assets("order_book_parquet", "clickhouse_order_book")  # and their checks
FIVE_MINUTES_MS = 300_000
DAGSTER = str(Path(sys.executable).parent / "dagster")
# Run config of a CLI run whose failed steps are not retried: a run whose step retries ran out, now.
NO_STEP_RETRIES = json.dumps({"execution": {"config": {"multiprocess": {"retries": {"disabled": {}}}}}})


class Pipeline:
    def __init__(
        self,
        stand_in,
        root: Path,
        symbols: str = "BTCUSDT",
        lake_url: str | None = None,
        instance: dg.DagsterInstance | None = None,
        klines_source: str = "auto",
    ):
        self.stand_in = stand_in
        self.root = root
        self.symbols = symbols
        self.lake_dir = root / "lake"
        self.lake_url = lake_url or str(self.lake_dir)
        self.clickhouse_url = f"chdb://{root / 'clickhouse'}"
        self.instance = instance or dg.DagsterInstance.ephemeral()
        self.klines_source = klines_source
        self.aws_retries: int | None = None  # boto3 retries per S3 call; None: dagster-aws' default (5)

    def query(self, sql: str, **parameters) -> list[tuple]:
        """Rows of ``sql`` in the pipeline's embedded ClickHouse, releasing the engine afterwards."""
        client = clickhouse_connect.get_client(dsn=self.clickhouse_url)
        try:
            return client.query(sql, parameters=parameters).result_rows
        finally:
            client.close()

    def resources(self, symbols: str | None = None, klines_source: str | None = None, **exchange_overrides) -> dict:
        exchange = {"api_url": self.stand_in.url, "backoff_s": 0.01, "request_timeout_s": 2.0}
        archive = {"url": self.stand_in.archive_url, "backoff_s": 0.01, "request_timeout_s": 2.0}
        return {
            "symbols": TrackedSymbols(symbols=symbols or self.symbols),
            "exchange": BinanceExchange(**{**exchange, **exchange_overrides}),
            "archive": BinanceArchive(**archive, klines_source=klines_source or self.klines_source),
            "lake": LakeResource(
                url=self.lake_url, s3=None if self.aws_retries is None else S3Resource(max_attempts=self.aws_retries)
            ),
            "warehouse": ClickHouseWarehouse(url=self.clickhouse_url, database="binance"),
            "duckdb": DuckDB(),
        }

    def materialize(
        self,
        partition: str | None,
        *,
        last: str | None = None,
        selection: "list[str] | dg.AssetSelection | None" = None,
        group: str = "klines",
        raise_on_error: bool = True,
        tags: dict[str, str] | None = None,
        run_config: dict | None = None,
        **exchange_overrides,
    ) -> dg.ExecuteInProcessResult:
        """One partition, or partition..last as one single-run backfill, of ``selection`` (default:
        the assets of ``group`` and their checks); partition None for unpartitioned assets."""
        tags = dict(tags or {})
        if last is not None:
            tags |= {"dagster/asset_partition_range_start": partition, "dagster/asset_partition_range_end": last}
        return dg.materialize(
            [*defs.assets, *defs.asset_checks],
            partition_key=None if last else partition,
            tags=tags,
            resources=self.resources(**exchange_overrides),
            instance=self.instance,
            selection=dg.AssetSelection.groups(group) if selection is None else selection,
            raise_on_error=raise_on_error,
            run_config=run_config,
        )


@contextmanager
def daemon_workspace() -> Iterator[tuple[dg.DagsterInstance, object]]:
    """A test instance and the real code location served by a gRPC code server, as ``dagster-daemon``
    loads it (sensor ticks: ``execute_sensor_iteration(workspace, ...)``); runs launch in subprocesses."""
    target = ModuleTarget(
        module_name="binance_assets.definitions",
        attribute="defs",
        working_directory=str(REPO),
        location_name="binance_assets",
    )
    with (
        dg.instance_for_test(synchronous_run_coordinator=True) as instance,
        create_test_daemon_workspace_context(target, instance) as workspace,
    ):
        yield instance, workspace


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The first failed step's error as the UI shows it: message, stack and any causes."""
    return str(result.get_step_failure_events()[0].step_failure_data.error)


def step_retries(result: dg.ExecuteInProcessResult) -> int:
    return sum(event.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY for event in result.all_events)


def evaluations(result: dg.ExecuteInProcessResult, check_name: str) -> dict[str, dg.AssetCheckEvaluation]:
    """partition → the evaluation of ``check_name`` the run recorded."""
    return {e.partition: e for e in result.get_asset_check_evaluations() if e.check_name == check_name}


def take_snapshots(pipeline: Pipeline, count: int, **overrides) -> list[dg.ExecuteInProcessResult]:
    """``count`` runs of the snapshot asset, five exchange minutes apart."""
    results = []
    for _ in range(count):
        results.append(pipeline.materialize(None, selection=["raw_order_book"], **overrides))
        pipeline.stand_in.server_time_offset_ms += FIVE_MINUTES_MS
    return results


def materialize_cli(env: dict, *partition_args: str, select: str = "group:klines") -> subprocess.CompletedProcess:
    """`dagster asset materialize` of the code location, as a user runs it."""
    return subprocess.run(
        [DAGSTER, "asset", "materialize", "-m", "binance_assets.definitions", "--select", select, *partition_args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def warehouse_counts(env: dict) -> tuple[int, int]:
    """Read the warehouse in a separate process: the CLI's runs have released the chdb path."""
    query = (
        "import clickhouse_connect, os;"
        "c = clickhouse_connect.get_client(dsn=os.environ['CLICKHOUSE_URL']);"
        "print(*c.query('SELECT count(), uniqExact(trading_pair, open_time) FROM binance.klines FINAL').result_rows[0])"
    )
    out = subprocess.run([sys.executable, "-c", query], env=env, capture_output=True, text=True, check=True).stdout
    rows, distinct = out.split()
    return int(rows), int(distinct)


HOLD = (
    "import clickhouse_connect, sys;"
    "client = clickhouse_connect.get_client(dsn=sys.argv[1]); client.command('SELECT 1');"
    "print('holding', flush=True); sys.stdin.read()"
)


@contextmanager
def embedded_clickhouse_held(clickhouse_url: str) -> Iterator[subprocess.Popen]:
    """Another process (a notebook, a long query) holds the embedded ClickHouse until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, clickhouse_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        yield holder
    finally:
        holder.stdin.close()  # it exits at end of input, releasing the path
        holder.wait(timeout=30)


# 2024-03-01 00:00:30 UTC: where stream tests start the market, 30 s into the first candle of the hour.
STREAM_START_MS = STAND_IN_NOW_MS + 30_000
MINUTE = 60_000
FIRST_LIVE_CANDLE = STREAM_START_MS // MINUTE * MINUTE  # the candle open when the stream starts


def move_market(stand_in, ms: int) -> None:
    """Advance the stand-in's fixed market clock (its streams push the closes) with the exchange's
    clock (``/api/v3/time``) moving along, as on Binance, where they are one clock."""
    stand_in.server_time_offset_ms = stand_in.now_ms + ms - int(time.time() * 1000)
    stand_in.advance(ms)


def open_live_market(pipeline: "Pipeline", start_ms: int = STREAM_START_MS) -> None:
    """The pipeline's stand-in market at ``start_ms``, both symbols tracked."""
    pipeline.symbols = "BTCUSDT,ETHUSDT"
    pipeline.stand_in.set_now(start_ms)
    move_market(pipeline.stand_in, 0)


def minutes_ago(count: int) -> int:
    """The open time of the candle ``count`` minutes before the one open now (real time): for checks
    that judge the live edge by the real clock."""
    return (int(time.time() * 1000) // MINUTE - count) * MINUTE


def wait_for(predicate, what: str, timeout: float = 30.0, interval: float = 0.02):
    """Poll until ``predicate()`` is truthy (returning it); fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def live_edge(lake_url: str) -> dict[str, int]:
    """Newest candle written per symbol, from the stream's status in the lake."""
    return (read_status(LakeResource(url=lake_url)) or {}).get("edge", {})


class LiveStream:
    """The stream service of ``binance-assets stream`` in-process (its own event loop in a thread),
    against the pipeline's stand-in, lake and embedded ClickHouse (``direct``: it inserts itself, as on
    a server; else it writes the lake only, as on chdb)."""

    def __init__(self, pipeline: Pipeline, direct: bool = True, **options):
        self.pipeline = pipeline
        self.symbols = pipeline.symbols.split(",")
        exchange = BinanceExchange(
            api_url=pipeline.stand_in.url,
            stream_url=pipeline.stand_in.stream_url,
            backoff_s=0.01,
            request_timeout_s=2.0,
        )
        self.warehouse = ClickHouseWarehouse(url=pipeline.clickhouse_url) if direct else None
        options = {"backoff_initial_s": 0.05, "backoff_max_s": 0.2, **options}
        self.service = LiveKlines(
            exchange, LakeResource(url=pipeline.lake_url), self.symbols, self.warehouse, **options
        )
        self._error: BaseException | None = None

    def __enter__(self) -> "LiveStream":
        ready = threading.Event()

        async def main() -> None:
            self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
            ready.set()
            await self.service.run(self._stopping)

        def run() -> None:
            try:
                asyncio.run(main())
            except BaseException as error:  # re-raised by stop()
                self._error = error

        self._thread = threading.Thread(target=run, name="live-stream", daemon=True)
        self._thread.start()
        ready.wait(10)
        wait_for(lambda: self.service.caught_up or self._error, "the stream to connect and fill any gap")
        if self._error is not None:
            self.stop()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(30)
        if self.warehouse is not None:
            self.warehouse.close()
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    @property
    def stats(self):
        return self.service.stream.stats

    def wait_for_edge(self, open_ms: int) -> dict[str, int]:
        """Until every symbol's candle opening at ``open_ms`` is written (lake, then warehouse)."""

        def written() -> dict[str, int] | None:
            if self._error is not None:
                self.stop()  # raises the service's error
            edge = live_edge(self.pipeline.lake_url)
            return edge if all(edge.get(s, -1) >= open_ms for s in self.symbols) else None

        return wait_for(written, f"every symbol's candle of {open_ms} to be written")


CLI_WAIT_S = 240  # a guard against a hang, not a speed assertion


class CliRun:
    """One ``dagster asset materialize`` process (in its own process group, as a shell starts it),
    its output collected line by line."""

    def __init__(self, command: list[str], env: dict[str, str]):
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self.seen_at: list[float] = []  # when each line arrived (the log's own times are whole seconds)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.seen_at.append(time.time())
            self.lines.append(line.rstrip("\n"))

    def when(self, text: str) -> float | None:
        """When the first line containing ``text`` arrived."""
        return next((at for at, line in zip(self.seen_at, self.lines, strict=False) if text in line), None)

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, condition: "str | Callable[[], bool]") -> None:
        """Until a line contains ``condition`` (or ``condition()`` holds); fails if the run ends first."""
        met = condition if callable(condition) else lambda: any(condition in line for line in self.lines)
        deadline = time.monotonic() + CLI_WAIT_S
        while not met():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"never saw {condition!r}; the run's output ends:\n" + "\n".join(self.lines[-30:]))
            time.sleep(0.05)

    def kill(self, whole_group: bool = True) -> float:
        """SIGKILL the run (with its step processes, or the orchestrating process alone); returns when."""
        if whole_group:
            os.killpg(self.process.pid, signal.SIGKILL)
        else:
            self.process.kill()
        killed_at = time.time()
        self.process.wait()
        return killed_at

    def finish(self) -> int:
        code = self.process.wait(timeout=CLI_WAIT_S)
        self._reader.join(timeout=5)
        return code


class CliRuns:
    """Runs of the real code location through the ``dagster`` CLI against a pipeline's stand-in, lake
    and ClickHouse, on one instance (DAGSTER_HOME with the repo's dagster.yaml: pools of 1)."""

    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline
        self.home = pipeline.root / "dagster_home"
        self.home.mkdir(exist_ok=True)
        shutil.copy(REPO / "dagster.yaml", self.home / "dagster.yaml")
        self.env = {
            **os.environ,
            "DAGSTER_HOME": str(self.home),
            "BINANCE_API_URL": pipeline.stand_in.url,
            "BINANCE_ARCHIVE_URL": pipeline.stand_in.archive_url,
            "KLINES_SOURCE": pipeline.klines_source,
            "BINANCE_SYMBOLS": pipeline.symbols,
            "LAKE_URL": pipeline.lake_url,
            "CLICKHOUSE_URL": pipeline.clickhouse_url,
        }
        # Create the instance's storage now: two runs starting at once on a fresh DAGSTER_HOME would race
        # to create it (Dagster's SQLite schema set-up is not safe against that).
        self.instance().dispose()

    def start(self, first: str, last: str, select: str = "group:klines", in_process: bool = False) -> CliRun:
        """A range run; ``in_process`` runs its steps in the CLI's process (as ``--config`` with
        ``execution: {config: {in_process: {}}}`` does), saving a Python start per step."""
        command = [DAGSTER, "asset", "materialize", "-m", "binance_assets.definitions", "--select", select]
        command += ["--partition-range", f"{first}...{last}"]
        if in_process:
            config = self.home / "in_process.yaml"
            config.write_text("execution: {config: {in_process: {}}}\n")
            command += ["--config", str(config)]
        return CliRun(command, self.env)

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.home))


def run_id_of(run: CliRun) -> str:
    """The run id a CLI run printed (its RUN_START line)."""
    run.wait_for(" - RUN_START - ")
    line = next(line for line in run.lines if " - RUN_START - " in line)
    return re.search(r" - ([0-9a-f]{8}-[0-9a-f-]{27}) - ", line).group(1)


KLINES_ASSETS = ("raw_klines", "klines_parquet", "clickhouse_klines")
KLINE_FIELDS = (
    "toUnixTimestamp64Milli(open_time), open_price, high_price, low_price, close_price, base_volume, "
    "toUnixTimestamp64Milli(close_time), quote_volume, number_of_trades, taker_buy_base_volume, taker_buy_quote_volume"
)


def klines_outcomes(pipeline: Pipeline, instance: dg.DagsterInstance, first: str, last: str) -> dict[str, str]:
    """Every hour first...last of the klines group after faults: "exact" (Dagster shows it materialised
    and ClickHouse holds exactly the exchange's candles, once each) or "failed" (Dagster does not show it
    materialised). Fails on anything else: an hour shown materialised but wrong, one still in progress
    once every run ended, a lake folder whose _SUCCESS vouches for wrong data, a key held twice."""
    hours = hourly_partitions.get_partition_keys_in_range(dg.PartitionKeyRange(first, last))
    start_ms, end_ms = to_ms(parse_hour(first)), to_ms(parse_hour(last)) + 3_600_000
    stored: dict[tuple[str, int], list[list]] = {}
    if pipeline.query("SELECT count() FROM system.tables WHERE database = 'binance' AND name = 'klines'")[0][0]:
        rows, keys = pipeline.query("SELECT count(), uniqExact(trading_pair, open_time) FROM binance.klines FINAL")[0]
        assert rows == keys, f"{rows - keys} candle(s) held twice"
        for symbol, *row in pipeline.query(
            f"SELECT trading_pair, {KLINE_FIELDS} FROM binance.klines FINAL "
            "WHERE open_time >= fromUnixTimestamp64Milli({start:Int64}, 'UTC') "
            "AND open_time < fromUnixTimestamp64Milli({end:Int64}, 'UTC') ORDER BY trading_pair, open_time",
            start=start_ms,
            end=end_ms,
        ):
            stored.setdefault((symbol, row[0] - row[0] % 3_600_000), []).append(row)
    lake = LakeResource(url=pipeline.lake_url)
    statuses = {
        asset: instance.get_status_by_partition(dg.AssetKey(asset), hours, hourly_partitions) or {}
        for asset in KLINES_ASSETS
    }
    outcomes = {}
    for key in hours:
        hour = parse_hour(key)
        status = {asset: statuses[asset].get(key) for asset in KLINES_ASSETS}
        assert dg.AssetPartitionStatus.IN_PROGRESS not in status.values(), f"{key} still in progress: {status}"
        for symbol in pipeline.symbols.split(","):
            served = pipeline.stand_in.candles(symbol, start_ms=to_ms(hour), end_ms=to_ms(hour) + 3_599_999)
            raw = lake.read(raw_file("klines", symbol, hour))
            assert raw is None or json.loads(raw) == served, f"{key} {symbol}: raw _SUCCESS vouches for wrong data"
            parquet = lake.read_parquet(clean_file("klines", symbol, hour))
            assert parquet is None or parquet["open_time"].dt.epoch("ms").to_list() == [c[0] for c in served]
            exact = stored.get((symbol, to_ms(hour)), []) == [
                [v if isinstance(v, int) else Decimal(v) for v in candle[:11]] for candle in served
            ]
            if status["clickhouse_klines"] == dg.AssetPartitionStatus.MATERIALIZED:
                assert exact, f"{key} {symbol}: shown materialised but ClickHouse does not hold the exchange's candles"
        materialised = all(s == dg.AssetPartitionStatus.MATERIALIZED for s in status.values())
        outcomes[key] = "exact" if materialised else "failed"
    return outcomes


CHECK_STATUSES_QUERY = """query CheckStatuses($path: [String!]!) { assetNodeOrError(assetKey: {path: $path}) {
    ... on AssetNode { assetChecksOrError { ... on AssetChecks { checks { name partitionStatuses {
        ... on AssetCheckTimePartitionStatuses { ranges { status startKey endKey } } } } } } } } }"""
ASSET_STATUSES_QUERY = """query AssetStatuses($path: [String!]!) { assetNodeOrError(assetKey: {path: $path}) {
    ... on AssetNode { assetPartitionStatuses { ... on TimePartitionStatuses { ranges { status startKey endKey } } } } } }"""
CHECK_EXECUTIONS_QUERY = """query CheckExecutions($path: [String!]!, $check: String!, $partition: String) {
    assetCheckExecutions(assetKey: {path: $path}, checkName: $check, partition: $partition, limit: 1) {
        partition status evaluation { severity targetMaterialization { storageId runId } } } }"""


def graphql(instance: dg.DagsterInstance, query: str, **variables) -> dict:
    """A query answered by Dagster's GraphQL schema — what the UI asks the webserver — over the
    real definitions and ``instance``."""
    from dagster._core.test_utils import in_process_test_workspace
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
    from dagster_graphql.test.utils import execute_dagster_graphql

    origin = LoadableTargetOrigin(module_name="binance_assets.definitions", working_directory=str(REPO))
    with in_process_test_workspace(instance, origin) as context:
        result = execute_dagster_graphql(context, query, variables)
    assert not result.errors, result.errors
    return result.data


def hour_ranges(ranges: list[dict]) -> dict[str, str]:
    """partition → status, from GraphQL's ranges of consecutive hours."""
    statuses = {}
    for entry in ranges:
        hour = parse_hour(entry["startKey"])
        while hour <= parse_hour(entry["endKey"]):
            statuses[hour.strftime(PARTITION_FORMAT)] = entry["status"]
            hour += timedelta(hours=1)
    return statuses


def check_statuses(instance: dg.DagsterInstance, asset: str) -> dict[str, dict[str, str]]:
    """check name → partition → the status the UI shows for that hour (SUCCEEDED, FAILED, ...)."""
    node = graphql(instance, CHECK_STATUSES_QUERY, path=[asset])["assetNodeOrError"]
    return {c["name"]: hour_ranges(c["partitionStatuses"]["ranges"]) for c in node["assetChecksOrError"]["checks"]}


def asset_statuses(instance: dg.DagsterInstance, asset: str) -> dict[str, str]:
    """partition → the status the UI shows for that hour of the asset (MATERIALIZED, FAILED, MATERIALIZING)."""
    node = graphql(instance, ASSET_STATUSES_QUERY, path=[asset])["assetNodeOrError"]
    return hour_ranges(node["assetPartitionStatuses"]["ranges"])


def latest_check_execution(instance: dg.DagsterInstance, asset: str, check: str, partition: str) -> dict:
    """The hour's latest execution of a check as the UI lists it: status, severity, checked materialization."""
    [execution] = graphql(instance, CHECK_EXECUTIONS_QUERY, path=[asset], check=check, partition=partition)[
        "assetCheckExecutions"
    ]
    return execution
