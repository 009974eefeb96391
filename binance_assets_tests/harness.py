"""Running the real definitions in-process against the stand-in, a temp lake and chdb; and the real
`dagster` CLI, and a second process holding the embedded ClickHouse."""

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from binance_assets.definitions import defs
from binance_assets.resources.binance import BinanceExchange
from binance_assets.resources.clickhouse import ClickHouseWarehouse
from binance_assets.resources.lake import LakeResource
from binance_assets.settings import TrackedSymbols

# 2024-03-01 00:00 UTC: the stand-in's clock, so hours before it are closed and the hour at it is open.
STAND_IN_NOW_MS = 1_709_251_200_000
# The order-book hour the live stand-in starts in, and its raw folder.
ORDER_BOOK_HOUR = "2024-02-29-22:00"
ORDER_BOOK_FOLDER = "raw/order_book/symbol={}/year=2024/month=02/day=29/hour=22"
ORDER_BOOK_HOURLY = dg.AssetSelection.assets("order_book_parquet", "clickhouse_order_book")  # and their checks
FIVE_MINUTES_MS = 300_000
REPO = Path(__file__).resolve().parents[1]
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
    ):
        self.stand_in = stand_in
        self.root = root
        self.symbols = symbols
        self.lake_dir = root / "lake"
        self.lake_url = lake_url or str(self.lake_dir)
        self.clickhouse_url = f"chdb://{root / 'clickhouse'}"
        self.instance = instance or dg.DagsterInstance.ephemeral()

    def resources(self, symbols: str | None = None, **exchange_overrides) -> dict:
        exchange = {"api_url": self.stand_in.url, "backoff_s": 0.01, "request_timeout_s": 2.0}
        return {
            "symbols": TrackedSymbols(symbols=symbols or self.symbols),
            "exchange": BinanceExchange(**{**exchange, **exchange_overrides}),
            "lake": LakeResource(url=self.lake_url),
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
