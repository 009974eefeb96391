"""Shared fixtures: the exchange stand-in over HTTP, a lake on disk and an embedded ClickHouse."""

import os

# Partitions reach back to 2018 so tests can replay Binance's known outages.
os.environ.setdefault("PARTITIONS_START", "2018-01-01-00:00")

import clickhouse_connect  # noqa: E402
import pytest  # noqa: E402

from binance_assets_tests.harness import Pipeline  # noqa: E402
from binance_assets.exchange.stand_in import ExchangeStandIn  # noqa: E402

pytest_plugins = ["binance_assets_tests.s3_lake"]

# 2024-03-01 00:00 UTC: the stand-in's clock, so hours before it are closed and the hour at it is open.
STAND_IN_NOW_MS = 1_709_251_200_000


@pytest.fixture
def stand_in():
    with ExchangeStandIn(symbols=("BTCUSDT", "ETHUSDT"), now_ms=STAND_IN_NOW_MS) as exchange:
        yield exchange


@pytest.fixture
def pipeline(stand_in, tmp_path) -> Pipeline:
    return Pipeline(stand_in, tmp_path)


@pytest.fixture
def clickhouse_query(pipeline):
    """Run a query against the pipeline's embedded ClickHouse, releasing the engine afterwards."""

    def query(sql: str, **parameters):
        client = clickhouse_connect.get_client(dsn=pipeline.clickhouse_url)
        try:
            return client.query(sql, parameters=parameters).result_rows
        finally:
            client.close()

    return query
