"""Running the real definitions in-process against the stand-in, a temp lake and chdb."""

from datetime import timedelta
from pathlib import Path

import dagster as dg

from binance_assets.definitions import defs
from binance_assets.lib.partitions import PARTITION_FORMAT, parse_hour
from binance_assets.resources.binance import BinanceExchange
from binance_assets.resources.clickhouse import ClickHouseWarehouse
from binance_assets.resources.duckdb import DuckDB
from binance_assets.resources.lake import LakeResource
from binance_assets.settings import TrackedSymbols

REPO = Path(__file__).resolve().parents[1]
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

    def resources(self, symbols: str | None = None, **exchange_overrides) -> dict:
        exchange = {"api_url": self.stand_in.url, "backoff_s": 0.01, "request_timeout_s": 2.0}
        return {
            "symbols": TrackedSymbols(symbols=symbols or self.symbols),
            "exchange": BinanceExchange(**{**exchange, **exchange_overrides}),
            "lake": LakeResource(url=self.lake_url),
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
