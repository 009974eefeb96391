"""The warehouse resource tells a busy or full warehouse (retried, healed) from a setting to change, and
releases the embedded engine's one-process lock when a step's work ends."""

import subprocess
import sys

import pyarrow as pa
import pytest

from binance_assets.errors import ConfigurationError, NotRetryable, OutOfSpaceError, Transient
from binance_assets.resources.clickhouse import ClickHouseWarehouse, Table, WarehouseBusyError
from binance_assets_tests.harness import embedded_clickhouse_held

OPEN_ELSEWHERE = "import clickhouse_connect, sys; clickhouse_connect.get_client(dsn=sys.argv[1]).command('SELECT 1')"

NOTES = Table(
    "notes", "CREATE TABLE IF NOT EXISTS {database}.notes (id UInt64, text String) ENGINE = MergeTree ORDER BY id"
)


def test_a_path_held_by_another_process_is_busy_and_says_who_holds_it(tmp_path):
    path = tmp_path / "clickhouse"
    warehouse = ClickHouseWarehouse(url=f"chdb://{path}", database="binance")
    with embedded_clickhouse_held(warehouse.url) as holder, pytest.raises(WarehouseBusyError) as busy:
        warehouse.ensure_tables([NOTES])
    assert isinstance(busy.value, Transient) and not isinstance(busy.value, NotRetryable)  # the step retries it
    assert str(busy.value).startswith(
        f"Another process holds the embedded ClickHouse at {path} (pid {holder.pid}, python"
    ), busy.value
    assert "stop it or set CLICKHOUSE_URL to a ClickHouse server" in str(busy.value)

    try:  # released: the same resource opens it
        assert warehouse.ensure_tables([NOTES]) == ["notes"]
    finally:
        warehouse.close()


def test_a_path_that_cannot_be_a_warehouse_is_a_setting_to_change(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ConfigurationError, match=r"Cannot open ClickHouse at chdb://.*a-file: Check CLICKHOUSE_URL"):
        ClickHouseWarehouse(url=f"chdb://{blocker}").ensure_tables([NOTES])


def test_a_full_warehouse_disk_names_the_setting_and_is_not_retried_by_the_step(tiny_disk):
    warehouse = ClickHouseWarehouse(url=f"chdb://{tiny_disk / 'clickhouse'}", database="binance")
    rows = 40_000
    text = pa.array([f"{i:08d}" + "x" * 92 for i in range(rows)])  # 4 MB on a 3 MiB disk
    try:
        warehouse.ensure_tables([NOTES])
        with pytest.raises(OutOfSpaceError) as full:
            warehouse.insert("notes", pa.table({"id": pa.array(range(rows), pa.uint64()), "text": text}))
    finally:
        warehouse.close()
    message = str(full.value)
    assert message.startswith(f"The warehouse at {tiny_disk / 'clickhouse'} (CLICKHOUSE_URL) is out of disk space")
    assert "MiB free there" in message and "NOT_ENOUGH_SPACE" in message


def opens_in_another_process(dsn: str) -> bool:
    return subprocess.run([sys.executable, "-c", OPEN_ELSEWHERE, dsn], capture_output=True).returncode == 0


def test_a_step_releases_the_embedded_engine_when_its_work_ends(tmp_path):
    """Under the in-process executor every step of a run shares one process and its resources: a
    step must not keep the engine past its end, or the next step in pool ``clickhouse`` elsewhere
    could not open it."""
    dsn = f"chdb://{tmp_path / 'clickhouse'}"
    warehouse = ClickHouseWarehouse(url=dsn, database="binance")

    with warehouse.session():
        assert warehouse.query("SELECT 1") == [(1,)]
        assert not opens_in_another_process(dsn)  # the engine admits one process at a time
    assert opens_in_another_process(dsn)  # released, though the resource lives on
    with warehouse.session():  # and the same resource opens it again for the next step
        assert warehouse.query("SELECT 2") == [(2,)]
