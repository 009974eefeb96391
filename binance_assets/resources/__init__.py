"""One resource per external system, configured from the settings (see README: Configuration).

Binance (``exchange``: Spot REST; ``archive``: the bulk archive and ``KLINES_SOURCE``), the lake store (``lake``: local disk or S3 through dagster-aws), ClickHouse
(``warehouse``), SQS (``notifications``), plus DuckDB for the lake checks and the tracked symbols.
"""

import dagster as dg
from dagster_aws.s3 import S3Resource

from binance_assets.resources.aws import aws_settings
from binance_assets.resources.binance import BinanceArchive, BinanceExchange
from binance_assets.resources.clickhouse import ClickHouseWarehouse
from binance_assets.resources.duckdb import DuckDB
from binance_assets.resources.lake import LakeResource
from binance_assets.resources.sqs import NotificationQueue
from binance_assets.settings import Settings, TrackedSymbols, embedded_clickhouse_url


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    settings.klines_source  # a misspelt KLINES_SOURCE stops the code location, naming the choices
    return {
        "symbols": TrackedSymbols(symbols=settings.for_resource("BINANCE_SYMBOLS")),
        "exchange": BinanceExchange(
            api_url=settings.for_resource("BINANCE_API_URL"),
            stream_url=settings.for_resource("BINANCE_STREAM_URL"),
            # Only the account's orders need these; unset, every public asset still works.
            api_key=settings.first_set("BINANCE_API_KEY"),
            api_secret=settings.first_set("BINANCE_API_SECRET"),
            testnet=settings.for_resource("BINANCE_TESTNET"),
            order_book_depth_limit=settings.int_for_resource("ORDER_BOOK_DEPTH_LIMIT"),
        ),
        "archive": BinanceArchive(
            url=settings.for_resource("BINANCE_ARCHIVE_URL"), klines_source=settings.for_resource("KLINES_SOURCE")
        ),
        "lake": LakeResource(url=settings.for_resource("LAKE_URL"), s3=S3Resource(**aws_settings(settings))),
        # S3 ObjectCreated notifications of an s3:// lake (read by s3_parquet_sensor).
        "notifications": NotificationQueue(
            **aws_settings(settings),
            queue_name=settings.for_resource("SQS_QUEUE_NAME"),
            dlq_name=settings.for_resource("SQS_DLQ_NAME"),
        ),
        "warehouse": ClickHouseWarehouse(
            url=settings.for_resource("CLICKHOUSE_URL", embedded_clickhouse_url()),
            database=settings.for_resource("CLICKHOUSE_DATABASE"),
        ),
        # Lake checks verify the Parquet with DuckDB, an engine independent of the polars writer.
        "duckdb": DuckDB(),
    }
