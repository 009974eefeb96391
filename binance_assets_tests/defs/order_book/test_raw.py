"""Live order-book snapshots: appended to the current hour's folder, run by their schedule."""

import json

import dagster as dg
import pytest

from binance_assets import settings
from binance_assets.definitions import defs
from binance_assets.defs.order_book.raw import SNAPSHOT_CRON_VARIABLE
from binance_assets.errors import ConfigurationError
from binance_assets_tests.harness import ORDER_BOOK_FOLDER as FOLDER
from binance_assets_tests.harness import failure_message, take_snapshots

DEPTH = "/api/v3/depth"


def test_each_run_appends_one_snapshot_per_symbol_named_by_its_time(live_pipeline, live_stand_in):
    live_pipeline.symbols = "BTCUSDT,ETHUSDT"
    take_snapshots(live_pipeline, 3)

    for symbol in ("BTCUSDT", "ETHUSDT"):
        folder = live_pipeline.lake_dir / FOLDER.format(symbol)
        manifest = json.loads((folder / "_SUCCESS").read_text())
        names = [entry["file"] for entry in manifest["files"]]
        assert sorted(p.name for p in folder.glob("*.json")) == names
        assert [name[:13] for name in names] == ["20240229T2210", "20240229T2215", "20240229T2220"]
        for entry in manifest["files"]:
            book = json.loads((folder / entry["file"]).read_text())
            assert (len(book["bids"]), len(book["asks"])) == (100, 100)
            assert entry["last_update_id"] == book["lastUpdateId"] and entry["rows"] == 200
        assert manifest["rows"] == 600
    depth = [r for r in live_stand_in.requests if r.path == DEPTH]
    assert len(depth) == 6 and all(r.weight == 5 and r.params["limit"] == "100" for r in depth)


def test_the_depth_limit_sets_the_levels_and_the_weight(live_pipeline, live_stand_in):
    take_snapshots(live_pipeline, 1, order_book_depth_limit=500)
    (snapshot,) = (live_pipeline.lake_dir / FOLDER.format("BTCUSDT")).glob("*.json")
    assert len(json.loads(snapshot.read_text())["asks"]) == 500
    assert [r.weight for r in live_stand_in.requests if r.path == DEPTH] == [25]
    requests_before = live_stand_in.count()

    (failed,) = take_snapshots(live_pipeline, 1, order_book_depth_limit=5001, raise_on_error=False)
    assert not failed.success
    assert "ORDER_BOOK_DEPTH_LIMIT=5001" in failure_message(failed)
    assert live_stand_in.count() == requests_before  # refused before asking anything


def test_the_schedule_runs_the_snapshot_job_every_five_minutes_from_the_start():
    schedule = defs.resolve_schedule_def("order_book_snapshots_schedule")
    assert schedule.cron_schedule == "*/5 * * * *" and schedule.execution_timezone == "UTC"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    job = defs.resolve_job_def(schedule.job_name)
    assert {key.to_user_string() for key in job.asset_layer.selected_asset_keys} == {"raw_order_book"}


def test_the_snapshot_cron_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(SNAPSHOT_CRON_VARIABLE, "*/1 * * * *")
    assert settings.current().cron(SNAPSHOT_CRON_VARIABLE) == "*/1 * * * *"
    monkeypatch.setenv(SNAPSHOT_CRON_VARIABLE, "every five minutes")
    with pytest.raises(ConfigurationError, match="ORDER_BOOK_SNAPSHOT_CRON='every five minutes'"):
        settings.current().cron(SNAPSHOT_CRON_VARIABLE)
