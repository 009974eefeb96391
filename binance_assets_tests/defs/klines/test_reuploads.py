"""klines_archive_reuploads: a file Binance replaced is noticed by its .CHECKSUM and only its hours re-run,
the old copy kept beside the new one."""

import hashlib
import json

import dagster as dg

from binance_assets.defs.klines.reuploads import klines_archive_reuploads
from binance_assets.lib.partitions import RANGE_END_TAG, RANGE_START_TAG, parse_hour, to_ms

FIRST, LAST = "2025-03-02-00:00", "2025-03-03-23:00"  # two daily files
DAY_FOLDER = "raw/klines_archive/symbol=BTCUSDT/year=2025/month=03/day=03"
CHANGED_MS = to_ms(parse_hour("2025-03-03-10:00")) + 7 * 60_000


def tick(pipeline, cursor: str | None = None):
    with dg.build_sensor_context(instance=pipeline.instance, resources=pipeline.resources(), cursor=cursor) as context:
        return klines_archive_reuploads(context)


def test_a_reupload_is_detected_and_only_its_hours_rerun_keeping_the_old_file(archive_pipeline, archive_stand_in):
    archive_pipeline.symbols = "BTCUSDT,ETHUSDT"
    archive_pipeline.materialize(FIRST, last=LAST)
    folder = archive_pipeline.lake_dir / DAY_FOLDER
    old_sha = json.loads((folder / "_SUCCESS").read_text())["sha256"]
    untouched = tick(archive_pipeline)
    assert (
        not untouched.run_requests and "4 archive file(s) checked, none replaced" in untouched.skip_reason.skip_message
    )

    new_row = archive_stand_in.reupload_archive("BTCUSDT", "2025-03-03", open_time=CHANGED_MS, close="70000.12345678")
    archive_stand_in.clear_requests()
    found = tick(archive_pipeline)

    checksums = [r.path for r in archive_stand_in.requests]
    assert len(checksums) == 4 and all(p.endswith(".zip.CHECKSUM") for p in checksums)  # one small request a file
    (request,) = found.run_requests
    assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == ("2025-03-03-00:00", "2025-03-03-23:00")
    assert request.run_config == {"resources": {"symbols": {"config": {"symbols": "BTCUSDT"}}}}

    run = archive_pipeline.materialize(  # the run as the daemon launches it: the klines job, its tags and config
        request.tags[RANGE_START_TAG], last=request.tags[RANGE_END_TAG], run_config=request.run_config
    )

    rerun = {(e.asset_key.to_user_string(), e.partition) for e in run.get_asset_materialization_events()}
    assert {partition for _, partition in rerun} == {f"2025-03-03-{h:02d}:00" for h in range(24)}
    assert run.get_asset_materialization_events()[0].materialization.metadata["rows_by_symbol"].value == {
        "BTCUSDT": 1440
    }
    assert archive_pipeline.query(
        "SELECT toString(close_price), number_of_trades FROM binance.klines FINAL "
        "WHERE trading_pair = 'BTCUSDT' AND open_time = fromUnixTimestamp64Milli({t:Int64}, 'UTC')",
        t=CHANGED_MS,
    ) == [("70000.12345678", new_row[8])]
    assert archive_pipeline.query("SELECT count(), uniqExact(trading_pair, open_time) FROM binance.klines FINAL") == [
        (2 * 2880, 2 * 2880)
    ]

    kept = folder / f"superseded/sha256={old_sha}"
    assert hashlib.sha256((kept / "BTCUSDT-1m-2025-03-03.zip").read_bytes()).hexdigest() == old_sha
    current = json.loads((folder / "_SUCCESS").read_text())
    assert current["sha256"] != old_sha and current["superseded"][0]["sha256"] == old_sha
    assert hashlib.sha256((folder / "BTCUSDT-1m-2025-03-03.zip").read_bytes()).hexdigest() == current["sha256"]

    assert isinstance(tick(archive_pipeline, found.cursor), dg.SkipReason)  # today's pass is done
    assert not tick(archive_pipeline).run_requests  # the next pass: the lake holds what the archive lists


def test_a_replaced_month_used_for_part_of_a_range_reruns_that_part_only(archive_pipeline, archive_stand_in):
    archive_pipeline.materialize("2025-02-10-00:00", last="2025-02-16-23:00", selection=["raw_klines"])  # a week
    assert [r.path.rsplit("/", 1)[1] for r in archive_stand_in.requests if r.path.endswith(".zip")] == [
        "BTCUSDT-1m-2025-02.zip"
    ]
    archive_stand_in.reupload_archive("BTCUSDT", "2025-02")

    (request,) = tick(archive_pipeline).run_requests

    assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == ("2025-02-10-00:00", "2025-02-16-23:00")
