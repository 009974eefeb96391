"""The warehouse resource and the embedded engine's one-process lock."""

import subprocess
import sys

from binance_assets.resources.clickhouse import ClickHouseWarehouse

OPEN_ELSEWHERE = "import clickhouse_connect, sys; clickhouse_connect.get_client(dsn=sys.argv[1]).command('SELECT 1')"


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
