"""The code location as users drive it from scripts: the real `dagster asset materialize` CLI."""

import json
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
    assert {"raw_klines", "klines_parquet", "clickhouse_klines"} <= {
        k.to_user_string() for k in graph.get_all_asset_keys()
    }
    assert {"klines_complete", "klines_ohlc_valid", "klines_reconciled"} <= {k.name for k in graph.asset_check_keys}
    assert {
        "raw_orders",
        "orders_parquet",
        "clickhouse_orders",
        "raw_order_book",
        "order_book_parquet",
        "clickhouse_order_book",
        "exchange_info",
        "clickhouse_symbols",
    } <= {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {
        "orders_unique",
        "orders_quantities_valid",
        "orders_known_values",
        "orders_created_in_hour",
        "orders_reconciled",
        "order_book_snapshots_collected",
        "order_book_not_crossed",
        "order_book_levels_valid",
        "order_book_reconciled",
        "configured_symbols_trading",
    } <= {k.name for k in graph.asset_check_keys}


@pytest.fixture
def cli_env(stand_in, tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "BINANCE_API_URL": stand_in.url,
        "BINANCE_ARCHIVE_URL": stand_in.archive_url,
        "BINANCE_SYMBOLS": "BTCUSDT,ETHUSDT",
        "LAKE_URL": str(tmp_path / "lake"),
        "CLICKHOUSE_URL": f"chdb://{tmp_path / 'clickhouse'}",
        "PARTITIONS_START": "2024-01-01-00:00",
    }


def materialize_cli(env: dict, *partition_args: str, select: str = "group:klines") -> subprocess.CompletedProcess:
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


def test_cli_materialises_one_partition_and_its_checks(cli_env, stand_in):
    done = materialize_cli(cli_env, "--partition", "2024-02-29-22:00")

    assert done.returncode == 0, done.stderr[-3000:]
    assert "RUN_SUCCESS" in done.stderr
    assert done.stderr.count("ASSET_CHECK_EVALUATION") == 3 and "did not pass" not in done.stderr
    assert warehouse_counts(cli_env) == (120, 120)


@pytest.mark.parametrize("source", ["rest", "auto"])
def test_cli_partition_range_is_one_run_with_full_pages_or_archive_files(cli_env, stand_in, source):
    env = {**cli_env, "KLINES_SOURCE": source}
    done = materialize_cli(env, "--partition-range", "2024-02-28-00:00...2024-02-29-23:00")

    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.count("RUN_SUCCESS") == 1
    archive_files = [r.path for r in stand_in.requests if r.path.endswith(".zip")]
    if source == "rest":
        assert stand_in.count(path="/api/v3/klines") == 2 * 3 and not archive_files  # 2,880 candles: 3 pages each
    else:  # both days have ended on the exchange's clock: one daily file a symbol and day, no kline request
        assert stand_in.count(path="/api/v3/klines") == 0 and len(archive_files) == 2 * 2
    assert warehouse_counts(cli_env) == (2 * 2880, 2 * 2880)
    assert done.stderr.count("ASSET_CHECK_EVALUATION") == 3 * 48 and "did not pass" not in done.stderr


def test_cli_fetches_orders_with_keys_from_the_environment(cli_env, stand_in, credentials, tmp_path):
    stand_in.generate_orders("BTCUSDT", 1_709_244_000_000, 1_709_247_600_000, 1500, seed=31)  # 22:00–23:00
    env = {
        **cli_env,
        "BINANCE_API_KEY": os.environ["BINANCE_API_KEY"],
        "BINANCE_API_SECRET": os.environ["BINANCE_API_SECRET"],
    }
    done = materialize_cli(env, "--partition", "2024-02-29-22:00", select="raw_orders")

    assert done.returncode == 0, done.stderr[-3000:]
    manifest = tmp_path / "lake/raw/orders/symbol=BTCUSDT/year=2024/month=02/day=29/hour=22/_SUCCESS"
    assert json.loads(manifest.read_text())["rows"] == 1500
    assert env["BINANCE_API_KEY"] not in done.stderr + done.stdout
    assert env["BINANCE_API_SECRET"] not in done.stderr + done.stdout


def test_cli_orders_without_keys_fail_naming_the_variables(cli_env, stand_in):
    env = {k: v for k, v in cli_env.items() if k not in ("BINANCE_API_KEY", "BINANCE_API_SECRET")}
    done = materialize_cli(env, "--partition", "2024-02-29-22:00", select="raw_orders")

    assert done.returncode != 0
    assert "BINANCE_API_KEY and BINANCE_API_SECRET are not set" in done.stderr
