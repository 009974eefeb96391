"""One resource per external system, configured from the environment (see README: Configuration)."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from binance_assets.config import (
    DEFAULT_API_URL,
    DEFAULT_DATABASE,
    DEFAULT_LAKE_URL,
    DEFAULT_ORDER_BOOK_DEPTH_LIMIT,
    DEFAULT_SYMBOLS,
    embedded_clickhouse_url,
    env_int_or_default,
    env_or_default,
    env_or_none,
)
from binance_assets.exchange.resource import BinanceExchange
from binance_assets.lake.resource import LakeResource
from binance_assets.warehouse.resource import ClickHouseWarehouse


def build_resources() -> dict[str, dg.ConfigurableResource]:
    return {
        "exchange": BinanceExchange(
            api_url=env_or_default("BINANCE_API_URL", DEFAULT_API_URL),
            symbols=env_or_default("BINANCE_SYMBOLS", DEFAULT_SYMBOLS),
            # Only the account's orders need these; unset, every public asset still works.
            api_key=env_or_none("BINANCE_API_KEY"),
            api_secret=env_or_none("BINANCE_API_SECRET"),
            testnet=env_or_default("BINANCE_TESTNET", "0"),
            order_book_depth_limit=env_int_or_default("ORDER_BOOK_DEPTH_LIMIT", DEFAULT_ORDER_BOOK_DEPTH_LIMIT),
        ),
        "lake": LakeResource(url=env_or_default("LAKE_URL", DEFAULT_LAKE_URL)),
        "warehouse": ClickHouseWarehouse(
            url=env_or_default("CLICKHOUSE_URL", embedded_clickhouse_url()),
            database=env_or_default("CLICKHOUSE_DATABASE", DEFAULT_DATABASE),
        ),
        # Lake checks verify the Parquet with DuckDB, an engine independent of the polars writer.
        "duckdb": DuckDBResource(database=":memory:"),
    }
