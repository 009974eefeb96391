"""The bulk archive resource against the stand-in over HTTP, and the reading of archive files."""

import io
import zipfile
from datetime import UTC, datetime

import pytest

from binance_assets.errors import ConfigurationError
from binance_assets.resources import build_resources
from binance_assets.resources.binance import BinanceArchive
from binance_assets.resources.binance.archive_files import (
    ArchiveFileError,
    ArchivePeriod,
    ArchiveRef,
    kline_rows,
    sha256,
)
from binance_assets.settings import Settings

DAY = ArchiveRef("BTCUSDT", ArchivePeriod.parse("2025-03-03"))


def archive_for(stand_in, **overrides) -> BinanceArchive:
    return BinanceArchive(**{"url": stand_in.archive_url, "backoff_s": 0.01, "request_timeout_s": 2.0, **overrides})


def test_a_5xx_and_a_cut_off_download_are_retried_and_the_file_verified(archive_stand_in):
    path = archive_stand_in.archive_path("BTCUSDT", "2025-03-03")
    archive_stand_in.fail_next(1, "503", path=path)
    archive_stand_in.fail_next(1, "truncated", path=path)
    archive = archive_for(archive_stand_in)

    download = archive.fetch(DAY)

    assert download.sha256 == sha256(download.data) and download.checksum_file.startswith(download.sha256.encode())
    assert len(kline_rows(download.data, DAY).rows) == 1440
    assert archive.stats.requests.retries == 2 and archive.stats.downloaded == 1
    assert archive.fetch(DAY, copy=download.data).unchanged  # a copy the archive still lists is not downloaded
    assert archive_stand_in.count(path=path) == 3  # 503, cut off, whole: the unchanged copy cost none


def test_an_unpublished_file_is_none_and_an_unreachable_archive_names_the_setting(archive_stand_in):
    today = ArchiveRef("BTCUSDT", ArchivePeriod.parse("2025-03-05"))
    assert archive_for(archive_stand_in).fetch(today) is None
    assert archive_for(archive_stand_in).checksum(today) is None

    with pytest.raises(
        ConfigurationError, match="Cannot reach the Binance archive at http://127.0.0.1:9.*BINANCE_ARCHIVE_URL"
    ):
        archive_for(archive_stand_in, url="http://127.0.0.1:9", max_retries=0).fetch(DAY)


def test_a_misspelt_klines_source_names_the_variable_and_the_choices():
    with pytest.raises(ConfigurationError, match="KLINES_SOURCE='archives' is not a klines source: set auto"):
        build_resources(Settings({"KLINES_SOURCE": "archives"}))
    with pytest.raises(ConfigurationError, match="rest \\(REST only\\) or archive"):
        BinanceArchive(klines_source="REST-only").source
    assert BinanceArchive(klines_source=" Archive ").source == "archive"


def zipped(lines: list[str], name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name.replace(".zip", ".csv"), "".join(line + "\n" for line in lines))
    return buffer.getvalue()


def row(open_ms: int, unit: str) -> str:
    scale, close = (1000, open_ms * 1000 + 59_999_999) if unit == "us" else (1, open_ms + 59_999)
    return (
        f"{open_ms * scale},97000.10000000,97001.00000000,96999.00000000,97000.50000000,1.50000000,{close},"
        "145500.75000000,42,0.70000000,67900.35000000,0"
    )


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    "period,unit",
    [("2024-12-31", "us"), ("2024-12-31", "ms"), ("2025-01-02", "ms"), ("2025-01-02", "us")],
    ids=["2024-in-us", "2024-in-ms", "2025-in-ms", "2025-in-us"],
)
def test_the_time_unit_is_read_from_each_file_not_from_its_date(period, unit):
    ref = ArchiveRef("BTCUSDT", ArchivePeriod.parse(period))
    opens = [ms(f"{period}T00:00"), ms(f"{period}T23:59")]
    header = (
        "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote,ignore"
    )

    read = kline_rows(zipped([header, *(row(t, unit) for t in opens)], ref.name), ref)

    assert read.time_unit == unit
    assert read.rows == [
        [t, "97000.10000000", "97001.00000000", "96999.00000000", "97000.50000000", "1.50000000", t + 59_999]
        + ["145500.75000000", 42, "0.70000000", "67900.35000000", "0"]
        for t in opens
    ]


def test_a_file_whose_times_do_not_convert_exactly_or_lie_outside_its_period_is_refused():
    ref = ArchiveRef("BTCUSDT", ArchivePeriod.parse("2025-01-02"))
    off_grid = row(ms("2025-01-02T00:00"), "us").replace("000000,", "000123,", 1)
    with pytest.raises(ArchiveFileError, match="not whole milliseconds"):
        kline_rows(zipped([off_grid], ref.name), ref)
    with pytest.raises(ArchiveFileError, match="outside 2025-01-02"):
        kline_rows(zipped([row(ms("2025-01-03T00:00"), "ms")], ref.name), ref)
