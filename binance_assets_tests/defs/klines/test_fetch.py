"""raw_klines fetched from Binance's bulk archive (KLINES_SOURCE): checksummed monthly and daily files, REST only
for the edge, against the stand-in's archive and REST over HTTP."""

import hashlib
import json
from datetime import timedelta

import pytest
import requests

from binance_assets.lib.partitions import HOUR_MS, parse_hour, to_ms
from binance_assets_tests.harness import evaluations, failure_message

KLINES = "/api/v3/klines"
BTC_FOLDER = "raw/klines/symbol={symbol}/year={h:%Y}/month={h:%m}/day={h:%d}/hour={h:%H}"


def raw_hour(pipeline, hour, symbol="BTCUSDT") -> tuple[list, dict]:
    folder = pipeline.lake_dir / BTC_FOLDER.format(symbol=symbol, h=hour)
    return json.loads((folder / "klines.json").read_text()), json.loads((folder / "_SUCCESS").read_text())


def hours(first: str, last: str) -> list:
    start, end = parse_hour(first), parse_hour(last)
    return [start + timedelta(hours=i) for i in range(int((end - start) / timedelta(hours=1)) + 1)]


def served(stand_in, first: str, last: str, symbol="BTCUSDT") -> list[list]:
    """What REST serves for these hours, read from the stand-in without HTTP (1000 rows a call)."""
    start, end = to_ms(parse_hour(first)), to_ms(parse_hour(last)) + HOUR_MS
    rows = []
    while start < end:
        page = stand_in.candles(symbol, start_ms=start, end_ms=end - 1, limit=1000)
        if not page:
            break
        rows += page
        start = page[-1][0] + 1
    return rows


def zip_requests(stand_in) -> list[str]:
    return [r.path.rsplit("/", 1)[1] for r in stand_in.requests if r.path.endswith(".zip")]


def test_a_range_across_the_microsecond_switch_comes_from_the_archive_exact_to_the_digit(
    archive_pipeline, archive_stand_in
):
    first, last = "2024-12-31-23:00", "2025-02-01-00:00"  # a December day (ms), January (µs), a February day
    result = archive_pipeline.materialize(first, last=last, selection=["raw_klines"])

    assert archive_stand_in.count(path=KLINES) == 0
    assert zip_requests(archive_stand_in) == [
        "BTCUSDT-1m-2024-12-31.zip",
        "BTCUSDT-1m-2025-01.zip",
        "BTCUSDT-1m-2025-02-01.zip",
    ]
    written, sources = [], set()
    for hour in hours(first, last):
        rows, manifest = raw_hour(archive_pipeline, hour)
        written += rows
        sources.add((manifest["source"], manifest["archive_file"].rsplit("/", 1)[1], manifest["archive_sha256"]))
    assert written == served(archive_stand_in, first, last)  # REST's JSON, digit for digit, times in ms
    assert len(written) == 746 * 60 and written[60][0] == to_ms(parse_hour("2025-01-01-00:00"))

    base = f"{archive_stand_in.archive_url}"
    for name, period, unit in (("2024-12-31", "2024-12-31", "ms"), ("2025-01", "2025-01", "us")):
        sent = requests.get(base + archive_stand_in.archive_path("BTCUSDT", period), timeout=5).content
        checksum = requests.get(base + archive_stand_in.archive_path("BTCUSDT", period, checksum=True), timeout=5)
        folder = (
            archive_pipeline.lake_dir
            / "raw/klines_archive/symbol=BTCUSDT"
            / (f"year={period[:4]}/month={period[5:7]}" + (f"/day={period[8:]}" if len(period) == 10 else ""))
        )
        assert (folder / f"BTCUSDT-1m-{name}.zip").read_bytes() == sent  # kept as sent
        assert (folder / f"BTCUSDT-1m-{name}.zip.CHECKSUM").read_bytes() == checksum.content
        stored = json.loads((folder / "_SUCCESS").read_text())
        assert stored["sha256"] == hashlib.sha256(sent).hexdigest() == checksum.text.split()[0]
        assert stored["time_unit"] == unit
        assert ("archive", f"BTCUSDT-1m-{name}.zip", stored["sha256"]) in sources

    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["hours_by_source"].value == {"archive": 746}
    assert metadata["archive_files"].value == 3 and metadata["archive_rows"].value == 746 * 60


def test_the_unpublished_tail_comes_from_rest_and_every_candle_records_its_source(archive_pipeline, archive_stand_in):
    first, last = "2025-03-03-22:00", "2025-03-05-11:00"  # 03-03 archived; 03-04 not yet; 03-05 is today
    archive_stand_in.unpublish_archive("BTCUSDT", "2025-03-04")
    result = archive_pipeline.materialize(first, last=last)

    assert zip_requests(archive_stand_in) == ["BTCUSDT-1m-2025-03-03.zip"]
    assert archive_stand_in.count(path=KLINES) == 3  # 03-04 and today as one paged stretch: 2,160 candles
    assert archive_pipeline.query(
        "SELECT source, toString(min(open_time)), toString(max(open_time)), count() FROM binance.klines FINAL "
        "GROUP BY source ORDER BY 2"
    ) == [
        ("archive", "2025-03-03 22:00:00.000", "2025-03-03 23:59:00.000", 120),
        ("rest", "2025-03-04 00:00:00.000", "2025-03-05 11:59:00.000", 2160),
    ]
    stored = archive_pipeline.query(
        "SELECT toUnixTimestamp64Milli(open_time), toString(open_price), toString(close_price), number_of_trades "
        "FROM binance.klines FINAL ORDER BY open_time"
    )
    sent = served(archive_stand_in, first, last)
    assert stored == [(row[0], _decimal(row[1]), _decimal(row[4]), row[8]) for row in sent]
    for check in ("klines_complete", "klines_ohlc_valid", "klines_reconciled"):
        assert all(v.passed for v in evaluations(result, check).values()) and len(evaluations(result, check)) == 38
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["hours_by_source"].value == {"archive": 2, "rest": 36}

    # Rerun: the lake's copy still matches the archive's CHECKSUM, so nothing is downloaded again.
    archive_pipeline.materialize(first, last=last)
    assert zip_requests(archive_stand_in) == ["BTCUSDT-1m-2025-03-03.zip"]
    # Rerun from REST only: the newest fetch of every candle wins, still one row per candle.
    archive_pipeline.materialize(first, last=last, klines_source="rest")
    assert archive_pipeline.query(
        "SELECT source, count(), uniqExact(open_time) FROM binance.klines FINAL GROUP BY source"
    ) == [("rest", 2280, 2280)]


def _decimal(text: str) -> str:
    """ClickHouse's toString of a Decimal(38,8) drops trailing zeros."""
    return text.rstrip("0").rstrip(".") if "." in text else text


def test_a_symbol_the_archive_lacks_comes_from_rest(archive_pipeline, archive_stand_in):
    for day in ("2025-03-02", "2025-03-03"):
        archive_stand_in.unpublish_archive("ETHUSDT", day)
    archive_pipeline.symbols = "BTCUSDT,ETHUSDT"
    archive_pipeline.materialize("2025-03-02-00:00", last="2025-03-03-23:00", selection=["raw_klines"])

    for symbol, source in (("BTCUSDT", "archive"), ("ETHUSDT", "rest")):
        first = raw_hour(archive_pipeline, parse_hour("2025-03-02-00:00"), symbol)
        assert first[1]["source"] == source and first[0] == served(
            archive_stand_in, "2025-03-02-00:00", "2025-03-02-00:00", symbol
        )
    assert archive_stand_in.count(path=KLINES) == 3  # ETHUSDT's 2,880 candles
    assert zip_requests(archive_stand_in) == ["BTCUSDT-1m-2025-03-02.zip", "BTCUSDT-1m-2025-03-03.zip"]


@pytest.mark.parametrize("fault", ["corrupt_archive_checksum", "truncate_archive"])
def test_a_file_that_fails_its_checksum_is_retried_then_fails_naming_both_hashes_with_nothing_written(
    archive_pipeline, archive_stand_in, fault
):
    getattr(archive_stand_in, fault)("BTCUSDT", "2025-03-03")
    base = archive_stand_in.archive_url
    served_zip = requests.get(base + archive_stand_in.archive_path("BTCUSDT", "2025-03-03"), timeout=5).content
    listed = requests.get(base + archive_stand_in.archive_path("BTCUSDT", "2025-03-03", checksum=True), timeout=5)
    archive_stand_in.clear_requests()

    result = archive_pipeline.materialize(
        "2025-03-02-00:00", last="2025-03-04-23:00", selection=["raw_klines"], raise_on_error=False
    )

    message = failure_message(result)
    assert "Archive file BTCUSDT-1m-2025-03-03.zip failed verification 4 times; nothing of it was written" in message
    assert listed.text.split()[0] in message and hashlib.sha256(served_zip).hexdigest() in message
    assert "KLINES_SOURCE=rest" in message
    assert zip_requests(archive_stand_in).count("BTCUSDT-1m-2025-03-03.zip") == 4
    lake = archive_pipeline.lake_dir
    assert not (lake / "raw/klines_archive/symbol=BTCUSDT/year=2025/month=03/day=03").exists()
    assert not (lake / "raw/klines/symbol=BTCUSDT/year=2025/month=03/day=03").exists()
    assert (lake / "raw/klines/symbol=BTCUSDT/year=2025/month=03/day=02/hour=23/_SUCCESS").exists()
    assert archive_stand_in.count(path=KLINES) == 0  # no silent fall back to REST


def test_archive_only_never_calls_rest_and_a_missing_file_is_an_error(archive_pipeline, archive_stand_in):
    archive_pipeline.klines_source = "archive"
    archive_pipeline.materialize("2025-03-03-00:00", last="2025-03-03-01:00", selection=["raw_klines"])
    assert archive_stand_in.count(path="/api/v3/klines") + archive_stand_in.count(path="/api/v3/exchangeInfo") == 0

    archive_stand_in.unpublish_archive("BTCUSDT", "2025-03-04")
    missing = archive_pipeline.materialize("2025-03-04-00:00", selection=["raw_klines"], raise_on_error=False)
    assert "KLINES_SOURCE=archive, but the archive at" in failure_message(missing)
    assert "has no BTCUSDT-1m-2025-03-04.zip (404)" in failure_message(missing)
    assert "Set KLINES_SOURCE=auto" in failure_message(missing)
