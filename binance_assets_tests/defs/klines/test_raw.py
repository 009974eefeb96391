"""``raw_klines`` on a full disk: one sentence naming LAKE_URL, no retry, nothing half-written."""

import shutil

from binance_assets_tests.harness import Pipeline, failure_message, step_retries

WRITTEN, FAILED = "2024-02-29-21:00", "2024-02-29-22:00"
FOLDER = "raw/klines/symbol=BTCUSDT/year=2024/month=02/day=29/hour={}"


def test_a_full_lake_disk_fails_the_step_at_once_naming_lake_url_and_leaves_no_temporary_file(stand_in, tiny_disk):
    pipeline = Pipeline(stand_in, tiny_disk)  # the lake on a 3 MiB disk
    pipeline.materialize(WRITTEN, selection=["raw_klines"])
    (tiny_disk / "filler").write_bytes(bytes(shutil.disk_usage(tiny_disk).free - 4096))  # 4 KiB left: < an hour

    result = pipeline.materialize(FAILED, selection=["raw_klines"], raise_on_error=False)

    assert not result.success
    assert step_retries(result) == 0  # a retry 30 s later would not free the disk
    first_line = failure_message(result).splitlines()[0]
    assert first_line.startswith(
        f"binance_assets.errors.OutOfSpaceError: The lake's disk at {pipeline.lake_dir} (LAKE_URL) is full: "
        f"writing {FOLDER.format(22)}/klines.json needs "
    ), first_line
    assert "KiB is free, so free space there" in first_line
    assert not [p for p in pipeline.lake_dir.rglob("*") if p.name.startswith(".tmp-")]
    assert (pipeline.lake_dir / FOLDER.format(21) / "_SUCCESS").exists()  # the hour written before is intact
