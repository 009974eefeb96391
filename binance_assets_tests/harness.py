"""Running the real definitions against the stand-in, a temp lake and chdb: in-process, or through the
``dagster`` CLI; and the invariant every fault must leave intact."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import clickhouse_connect
import dagster as dg
from dagster_aws.s3 import S3Resource
from dagster_duckdb import DuckDBResource

from binance_assets.definitions import defs
from binance_assets.lib.partitions import hourly_partitions, parse_hour, to_ms
from binance_assets.resources.binance import BinanceExchange
from binance_assets.resources.clickhouse import ClickHouseWarehouse
from binance_assets.resources.lake import LakeResource
from binance_assets.resources.lake.layout import clean_file, raw_file
from binance_assets.settings import TrackedSymbols

# 2024-03-01 00:00 UTC: the stand-in's clock, so hours before it are closed and the hour at it is open.
STAND_IN_NOW_MS = 1_709_251_200_000
# The order-book hour the live stand-in starts in, and its raw folder.
ORDER_BOOK_HOUR = "2024-02-29-22:00"
ORDER_BOOK_FOLDER = "raw/order_book/symbol={}/year=2024/month=02/day=29/hour=22"
ORDER_BOOK_HOURLY = dg.AssetSelection.assets("order_book_parquet", "clickhouse_order_book")  # and their checks
FIVE_MINUTES_MS = 300_000


class Pipeline:
    def __init__(
        self,
        stand_in,
        root: Path,
        symbols: str = "BTCUSDT",
        lake_url: str | None = None,
        instance: dg.DagsterInstance | None = None,
    ):
        self.stand_in = stand_in
        self.root = root
        self.symbols = symbols
        self.lake_dir = root / "lake"
        self.lake_url = lake_url or str(self.lake_dir)
        self.clickhouse_url = f"chdb://{root / 'clickhouse'}"
        self.instance = instance or dg.DagsterInstance.ephemeral()
        self.aws_retries: int | None = None  # boto3 retries per S3 call; None: dagster-aws' default (5)

    def query(self, sql: str, **parameters) -> list[tuple]:
        """Rows of ``sql`` in the pipeline's embedded ClickHouse, releasing the engine afterwards."""
        client = clickhouse_connect.get_client(dsn=self.clickhouse_url)
        try:
            return client.query(sql, parameters=parameters).result_rows
        finally:
            client.close()

    def resources(self, symbols: str | None = None, **exchange_overrides) -> dict:
        exchange = {"api_url": self.stand_in.url, "backoff_s": 0.01, "request_timeout_s": 2.0}
        return {
            "symbols": TrackedSymbols(symbols=symbols or self.symbols),
            "exchange": BinanceExchange(**{**exchange, **exchange_overrides}),
            "lake": LakeResource(
                url=self.lake_url, s3=None if self.aws_retries is None else S3Resource(max_attempts=self.aws_retries)
            ),
            "warehouse": ClickHouseWarehouse(url=self.clickhouse_url, database="binance"),
            "duckdb": DuckDBResource(database=":memory:"),
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
        )


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The first failed step's error as the UI shows it: message, stack and any causes."""
    return str(result.get_step_failure_events()[0].step_failure_data.error)


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


REPO = Path(__file__).resolve().parents[1]
DAGSTER_CLI = str(Path(sys.executable).parent / "dagster")
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
        command = [DAGSTER_CLI, "asset", "materialize", "-m", "binance_assets.definitions", "--select", select]
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
