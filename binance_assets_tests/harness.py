"""Running the real definitions in-process against the stand-in, a temp lake and chdb."""

from pathlib import Path

import clickhouse_connect
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
