"""Shared fixtures: the exchange stand-in over HTTP, a lake on disk and an embedded ClickHouse."""

import os
import secrets
import shutil
import subprocess
import time

import clickhouse_connect
import dagster as dg
import pytest

from binance_assets_tests.harness import (
    MINUTE,
    REPO,
    STAND_IN_NOW_MS,
    STREAM_START_MS,
    LiveStream,
    Pipeline,
    move_market,
    open_live_market,
)
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

    def query(sql: str, **parameters):
        client = clickhouse_connect.get_client(dsn=pipeline.clickhouse_url)
        try:
            return client.query(sql, parameters=parameters).result_rows
        finally:
            client.close()

    return query


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


@pytest.fixture
def cli_env(stand_in, tmp_path) -> dict:
    """The environment of a `dagster` CLI run: its own DAGSTER_HOME (this repo's dagster.yaml), the
    stand-in, a temp lake and chdb."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "BINANCE_API_URL": stand_in.url,
        "BINANCE_SYMBOLS": "BTCUSDT,ETHUSDT",
        "LAKE_URL": str(tmp_path / "lake"),
        "CLICKHOUSE_URL": f"chdb://{tmp_path / 'clickhouse'}",
        "PARTITIONS_START": "2024-01-01-00:00",
    }


@pytest.fixture
def tiny_disk(tmp_path):
    """A 3 MiB tmpfs: a disk that fills up. Skipped where mounting is refused (it needs root)."""
    mount_point = tmp_path / "tiny-disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip() or 'mount refused'}): needs root")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "--lazy", str(mount_point)], check=False)


@pytest.fixture
def streamed_hour(stand_in, pipeline) -> Pipeline:
    """The live stream (writing the lake only, as on the embedded warehouse) saw every candle of
    2024-03-01 00:00–00:59 for BTCUSDT and ETHUSDT; the market is at 01:00:30."""
    open_live_market(pipeline)
    with LiveStream(pipeline, direct=False) as stream:
        move_market(stand_in, 60 * MINUTE)
        stream.wait_for_edge(STREAM_START_MS // MINUTE * MINUTE + 59 * MINUTE)
    return pipeline
