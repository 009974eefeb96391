"""The code location as users drive it from scripts: the real `dagster asset materialize` CLI."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from binance_assets.definitions import defs

REPO = Path(__file__).resolve().parents[1]
DAGSTER = str(Path(sys.executable).parent / "dagster")


def test_definitions_load_with_every_asset_and_check():
    graph = defs.resolve_asset_graph()
    assert {"raw_klines", "klines_parquet", "clickhouse_klines"} <= {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"klines_complete", "klines_ohlc_valid", "klines_reconciled"} <= {k.name for k in graph.asset_check_keys}


@pytest.fixture
def cli_env(stand_in, tmp_path):
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


def materialize_cli(env: dict, *partition_args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [DAGSTER, "asset", "materialize", "-m", "binance_assets.definitions", "--select", "group:klines", *partition_args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


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


def test_cli_materialises_one_partition_and_its_checks(cli_env, stand_in):
    done = materialize_cli(cli_env, "--partition", "2024-02-29-22:00")

    assert done.returncode == 0, done.stderr[-3000:]
    assert "RUN_SUCCESS" in done.stderr
    assert done.stderr.count("ASSET_CHECK_EVALUATION") == 3 and "did not pass" not in done.stderr
    assert warehouse_counts(cli_env) == (120, 120)


def test_cli_partition_range_is_one_run_with_full_pages(cli_env, stand_in):
    done = materialize_cli(cli_env, "--partition-range", "2024-02-28-00:00...2024-02-29-23:00")

    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.count("RUN_SUCCESS") == 1
    assert stand_in.count(path="/api/v3/klines") == 2 * 3  # 2,880 candles a symbol: 3 pages each
    assert warehouse_counts(cli_env) == (2 * 2880, 2 * 2880)
    assert done.stderr.count("ASSET_CHECK_EVALUATION") == 3 * 48 and "did not pass" not in done.stderr
