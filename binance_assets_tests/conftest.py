"""Shared fixtures: the exchange stand-in over HTTP, a lake on disk and an embedded ClickHouse."""

import secrets
import time

import dagster as dg
import pytest

from binance_assets_tests.harness import STAND_IN_NOW_MS, Pipeline
from binance_stand_in import ExchangeStandIn

pytest_plugins = ["binance_assets_tests.s3_lake"]


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
    return pipeline.query


@pytest.fixture
def credentials(stand_in, monkeypatch) -> dict:
    """A read key registered with the stand-in, in BINANCE_API_KEY / BINANCE_API_SECRET, and the
    exchange settings that read them (as ``dg.EnvVar``, the way ``build_resources`` does)."""
    key, secret = f"testkey{secrets.token_hex(28)}", f"testsecret{secrets.token_hex(27)}"
    stand_in.add_api_key(key, secret)
    monkeypatch.setenv("BINANCE_API_KEY", key)
    monkeypatch.setenv("BINANCE_API_SECRET", secret)
    return {"api_key": dg.EnvVar("BINANCE_API_KEY"), "api_secret": dg.EnvVar("BINANCE_API_SECRET")}


# 2024-02-29 22:10 UTC: where the live stand-in's server clock starts (order-book snapshots).
LIVE_START_MS = 1_709_244_600_000


@pytest.fixture
def live_stand_in():
    """A stand-in whose exchange clock runs (from LIVE_START_MS) and whose market follows it, as
    live snapshots need: move it on with ``server_time_offset_ms += ms``."""
    offset = LIVE_START_MS - int(time.time() * 1000)
    with ExchangeStandIn(symbols=("BTCUSDT", "ETHUSDT"), server_time_offset_ms=offset) as exchange:
        yield exchange


@pytest.fixture
def live_pipeline(live_stand_in, tmp_path) -> Pipeline:
    return Pipeline(live_stand_in, tmp_path)
