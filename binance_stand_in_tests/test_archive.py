"""The stand-in's bulk archive (data.binance.vision), over real HTTP (requests).

Every file is checked against ``/api/v3/klines`` of the same server: the archive and REST
must agree to the digit, the archive in microseconds from 2025-01-01 on.
"""

from __future__ import annotations

import calendar
import csv
import hashlib
import io
import re
import zipfile

import pytest
import requests

from binance_stand_in import ExchangeStandIn
from binance_stand_in.errors import ApiError

MIN = 60_000
HOUR = 60 * MIN
DAY = 24 * HOUR
NOW = calendar.timegm((2025, 3, 5, 12, 0, 0)) * 1000  # 2025-03-05 12:00 UTC: 2025-02 is published, 03-05 is not
MICROS_FROM = calendar.timegm((2025, 1, 1, 0, 0, 0)) * 1000
CHECKSUM_LINE = re.compile(r"^([0-9a-f]{64})  ([A-Z0-9]+-[0-9a-z]+-[0-9-]+\.zip)\n$")


def day_ms(y, m, d) -> int:
    return calendar.timegm((y, m, d, 0, 0, 0)) * 1000


@pytest.fixture(scope="module")
def ex():
    """Read-only tests share one stand-in (its built files are cached between tests)."""
    with ExchangeStandIn(symbols=("BTCUSDT", "ETHUSDT"), now_ms=NOW) as exchange:
        yield exchange


@pytest.fixture
def fresh():
    """Tests that change candles or set archive faults get their own stand-in."""
    with ExchangeStandIn(symbols=("BTCUSDT",), now_ms=NOW) as exchange:
        yield exchange


@pytest.fixture(scope="module")
def http():
    with requests.Session() as s:
        yield s


def fetch(http, ex, path, method="GET"):
    return http.request(method, f"{ex.archive_url}{path}", timeout=10)


def zip_rows(body: bytes, expected_name: str) -> list[list[str]]:
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        assert zf.namelist() == [expected_name]
        text = zf.read(expected_name).decode("ascii")
    return list(csv.reader(io.StringIO(text)))


def get_file(http, ex, symbol, period, interval="1m"):
    """(zip bytes, CSV rows) of a published file whose CHECKSUM verifies."""
    r = fetch(http, ex, ex.archive_path(symbol, period, interval))
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/zip"
    c = fetch(http, ex, ex.archive_path(symbol, period, interval, checksum=True))
    assert c.status_code == 200, c.text
    name = f"{symbol}-{interval}-{period}.zip"
    m = CHECKSUM_LINE.match(c.text)
    assert m and m[2] == name, c.text
    assert m[1] == hashlib.sha256(r.content).hexdigest()
    return r.content, zip_rows(r.content, name[:-4] + ".csv")


def rest_rows(http, ex, symbol, interval, start, end) -> list[list[str]]:
    """Every klines row opening in [start, end), paged by 1000, as strings like the CSV."""
    out = []
    while start < end:
        r = http.get(
            f"{ex.url}/api/v3/klines",
            timeout=10,
            params={"symbol": symbol, "interval": interval, "startTime": start, "endTime": end - 1, "limit": 1000},
        )
        assert r.status_code == 200, r.text
        page = r.json()
        if not page:
            break
        out += [[str(v) for v in row] for row in page]
        start = page[-1][0] + 1
    return out


def in_ms(rows: list[list[str]], micro: bool) -> list[list[str]]:
    """CSV rows with their times converted to ms, checking the unit on the way."""
    out = []
    for row in rows:
        assert len(row) == 12
        ot, ct = int(row[0]), int(row[6])
        if micro:
            assert len(row[0]) == 16 and ot % 1000 == 0 and row[6].endswith("999999")
            ot, ct = ot // 1000, ct // 1000
        else:
            assert len(row[0]) == 13 and row[6].endswith("999")
        out.append([str(ot)] + row[1:6] + [str(ct)] + row[7:])
    return out


# ----------------------------------------------------------------------------------- agreement with REST
@pytest.mark.parametrize(
    "period, start, end, micro",
    [
        ("2024-12", day_ms(2024, 12, 1), day_ms(2025, 1, 1), False),
        ("2025-01", day_ms(2025, 1, 1), day_ms(2025, 2, 1), True),
        ("2025-02", day_ms(2025, 2, 1), day_ms(2025, 3, 1), True),
    ],
)
def test_monthly_files_agree_with_klines_row_for_row(ex, http, period, start, end, micro):
    _, rows = get_file(http, ex, "BTCUSDT", period)
    assert len(rows) == (end - start) // MIN  # 44,640 rows in a 31-day month
    assert in_ms(rows, micro) == rest_rows(http, ex, "BTCUSDT", "1m", start, end)


@pytest.mark.parametrize(
    "period, start, micro",
    [
        ("2024-12-31", day_ms(2024, 12, 31), False),
        ("2025-01-01", day_ms(2025, 1, 1), True),
        ("2025-02-28", day_ms(2025, 2, 28), True),
    ],
)
def test_daily_files_agree_with_klines_and_with_their_month(ex, http, period, start, micro):
    _, rows = get_file(http, ex, "BTCUSDT", period)
    assert len(rows) == 1440
    assert rows[-1][6] == (str(start + DAY - 1) + "999" if micro else str(start + DAY - 1))
    assert in_ms(rows, micro) == rest_rows(http, ex, "BTCUSDT", "1m", start, start + DAY)
    _, month = get_file(http, ex, "BTCUSDT", period[:7])  # cached by the monthly test
    first = (start - day_ms(int(period[:4]), int(period[5:7]), 1)) // MIN
    assert month[first : first + 1440] == rows


def test_other_intervals_agree_with_klines(ex, http):
    _, hours = get_file(http, ex, "ETHUSDT", "2025-01-31", "1h")
    assert in_ms(hours, True) == rest_rows(http, ex, "ETHUSDT", "1h", day_ms(2025, 1, 31), day_ms(2025, 2, 1))
    assert len(hours) == 24
    _, days = get_file(http, ex, "ETHUSDT", "2024-12", "1d")
    assert in_ms(days, False) == rest_rows(http, ex, "ETHUSDT", "1d", day_ms(2024, 12, 1), day_ms(2025, 1, 1))
    assert len(days) == 31


# ----------------------------------------------------------------------------------- bytes, HTTP
def test_same_file_gives_the_same_bytes_even_on_another_stand_in(ex, http):
    path = ex.archive_path("BTCUSDT", "2025-01-15")
    first, second = fetch(http, ex, path), fetch(http, ex, path)
    assert first.content == second.content and first.headers["ETag"] == second.headers["ETag"]
    with ExchangeStandIn(symbols=("BTCUSDT",), now_ms=NOW + 40 * DAY) as other:  # no shared cache, later clock
        assert fetch(http, other, path).content == first.content
        assert fetch(http, other, path + ".CHECKSUM").text == fetch(http, ex, path + ".CHECKSUM").text
    head = fetch(http, ex, path, method="HEAD")
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["Content-Length"]) == len(first.content)


def test_archive_requests_are_recorded_without_weight_or_api_headers(fresh, http):
    path = fresh.archive_path("BTCUSDT", "2025-02-01")
    r = fetch(http, fresh, path)
    missing = fetch(http, fresh, fresh.archive_path("BTCUSDT", "2025-03-05"))
    assert not any(h.startswith("X-MBX") for h in (*r.headers, *missing.headers))
    assert fresh.count(path=path) == 1 and fresh.count(path=path, status=200, method="GET") == 1
    assert fresh.count(status=404) == 1
    assert [rec.weight for rec in fresh.requests] == [0, 0]
    assert fresh.used_weight_1m == 0


# ----------------------------------------------------------------------------------- publication, 404s
def assert_no_such_key(r, path):
    assert r.status_code == 404
    assert r.headers["Content-Type"] == "application/xml"
    assert r.text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert "<Error><Code>NoSuchKey</Code>" in r.text and f"<Key>{path.lstrip('/')}</Key>" in r.text


def test_files_are_published_once_their_period_closed_on_the_market_clock(fresh, http):
    today = fresh.archive_path("BTCUSDT", "2025-03-05")
    month = fresh.archive_path("BTCUSDT", "2025-03", "1h")  # 1h: a cheap monthly file
    assert fetch(http, fresh, fresh.archive_path("BTCUSDT", "2025-03-04")).status_code == 200
    for path in (today, today + ".CHECKSUM", month, month + ".CHECKSUM"):
        assert_no_such_key(fetch(http, fresh, path), path)
    fresh.set_now(day_ms(2025, 3, 6))  # the day has just closed
    assert fetch(http, fresh, today).status_code == 200
    fresh.archive_publish_delay_ms = 6 * HOUR  # like Binance, upload some hours later
    assert fetch(http, fresh, today).status_code == 404
    fresh.advance(6 * HOUR)
    assert fetch(http, fresh, today).status_code == 200
    assert fetch(http, fresh, month).status_code == 404
    fresh.set_now(day_ms(2025, 4, 1) + 6 * HOUR)
    assert fetch(http, fresh, month).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/data/spot/daily/klines/XYZUSDT/1m/XYZUSDT-1m-2025-01-01.zip",  # unknown symbol
        "/data/spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2017-07.zip",  # before the listing
        "/data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2017-08-16.zip.CHECKSUM",
        "/data/spot/daily/klines/BTCUSDT/1m/ETHUSDT-1m-2025-01-01.zip",  # names disagree
        "/data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2025-02-30.zip",  # no such day
        "/data/spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2025-01-01.zip",  # a day under monthly
        "/data/spot/monthly/klines/BTCUSDT/1s/BTCUSDT-1s-2025-01.zip",  # intervals not served
        "/data/spot/daily/klines/BTCUSDT/1w/BTCUSDT-1w-2025-01-06.zip",
        "/data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2025-01-01.csv",
        "/data/futures/um/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2025-01-01.zip",
    ],
)
def test_missing_files_answer_s3s_no_such_key(ex, http, path):
    assert_no_such_key(fetch(http, ex, path), path)


def test_first_file_starts_at_the_listing_and_other_methods_are_refused(ex, http):
    _, rows = get_file(http, ex, "BTCUSDT", "2017-08-17")
    assert rows[0][0] == "1502942400000" and len(rows) == 1440 - 4 * 60  # listed 04:00 UTC
    r = http.post(f"{ex.archive_url}{ex.archive_path('BTCUSDT', '2025-01-01')}", timeout=10)
    assert r.status_code == 405 and "<Code>MethodNotAllowed</Code>" in r.text


# ----------------------------------------------------------------------------------- market changes
def test_halts_gaps_and_corrections_show_in_the_archive(fresh, http):
    day = day_ms(2025, 2, 10)
    before, _ = get_file(http, fresh, "BTCUSDT", "2025-02-10")
    fresh.remove_range("BTCUSDT", day + 3 * HOUR, day + 5 * HOUR)  # a two-hour halt
    fresh.remove_candles("BTCUSDT", [day + 10 * MIN])
    fresh.correct_candle("BTCUSDT", day + 20 * MIN, volume="1.23456789", trades=7)
    body, rows = get_file(http, fresh, "BTCUSDT", "2025-02-10")
    assert body != before  # rebuilt, not served from the cache
    assert len(rows) == 1440 - 120 - 1
    assert in_ms(rows, True) == rest_rows(http, fresh, "BTCUSDT", "1m", day, day + DAY)
    opens = {int(r[0]) // 1000 for r in rows}
    assert day + 10 * MIN not in opens and day + 3 * HOUR not in opens and day + 5 * HOUR in opens
    fixed = next(r for r in rows if int(r[0]) == (day + 20 * MIN) * 1000)
    assert fixed[5] == "1.23456789" and fixed[8] == "7"
    # a day halted throughout has no file at all
    fresh.remove_range("BTCUSDT", day_ms(2025, 2, 11), day_ms(2025, 2, 12))
    assert fetch(http, fresh, fresh.archive_path("BTCUSDT", "2025-02-11")).status_code == 404


# ----------------------------------------------------------------------------------- archive faults
def test_corrupt_checksum_lists_a_wrong_hash_until_cleared(fresh, http):
    period = "2025-02-03"
    good, _ = get_file(http, fresh, "BTCUSDT", period)
    fresh.corrupt_archive_checksum("BTCUSDT", period)
    assert fresh.archive_faults == {("BTCUSDT", "1m", period): ("corrupt_checksum",)}
    for _ in range(2):  # persists, unlike fail_next
        r = fetch(http, fresh, fresh.archive_path("BTCUSDT", period))
        c = fetch(http, fresh, fresh.archive_path("BTCUSDT", period, checksum=True))
        assert r.content == good  # the zip is intact
        m = CHECKSUM_LINE.match(c.text)
        assert m and m[2] == f"BTCUSDT-1m-{period}.zip" and m[1] != hashlib.sha256(good).hexdigest()
    fresh.clear_archive_faults()
    assert fresh.archive_faults == {}
    get_file(http, fresh, "BTCUSDT", period)


def test_truncated_zip_is_a_complete_200_of_half_the_bytes(fresh, http):
    period = "2025-02-03"
    good, _ = get_file(http, fresh, "BTCUSDT", period)
    fresh.truncate_archive("BTCUSDT", period)
    for _ in range(2):
        r = fetch(http, fresh, fresh.archive_path("BTCUSDT", period))
        assert r.status_code == 200 and r.content == good[: len(good) // 2]
        assert int(r.headers["Content-Length"]) == len(r.content)
        assert r.headers["ETag"] != f'"{hashlib.md5(good).hexdigest()}"'
    checksum = fetch(http, fresh, fresh.archive_path("BTCUSDT", period, checksum=True)).text
    assert checksum.split()[0] == hashlib.sha256(good).hexdigest() != hashlib.sha256(r.content).hexdigest()
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(r.content))
    assert fetch(http, fresh, fresh.archive_path("BTCUSDT", "2025-02-04")).content != b""  # only that file
    fresh.clear_archive_faults()
    assert get_file(http, fresh, "BTCUSDT", period)[0] == good


def test_unpublished_file_is_404_until_cleared(fresh, http):
    fresh.unpublish_archive("BTCUSDT", "2025-01", "1h")
    month = fresh.archive_path("BTCUSDT", "2025-01", "1h")
    for path in (month, month + ".CHECKSUM"):
        assert_no_such_key(fetch(http, fresh, path), path)
    assert fetch(http, fresh, fresh.archive_path("BTCUSDT", "2025-01-10", "1h")).status_code == 200  # days stay
    assert fetch(http, fresh, fresh.archive_path("BTCUSDT", "2025-01", "1d")).status_code == 200  # other intervals
    fresh.clear_archive_faults()
    assert fetch(http, fresh, month).status_code == 200


def test_reupload_changes_file_checksum_and_klines_alike(fresh, http):
    period, day = "2025-02-05", day_ms(2025, 2, 5)
    old, old_rows = get_file(http, fresh, "BTCUSDT", period)
    old_checksum = fetch(http, fresh, fresh.archive_path("BTCUSDT", period, checksum=True)).text
    fresh.truncate_archive("BTCUSDT", period)
    row = fresh.reupload_archive("BTCUSDT", period, open_time=day + 90 * MIN, volume="3.21000000", trades=11)
    assert row[0] == day + 90 * MIN and row[5] == "3.21000000" and row[8] == 11
    assert fresh.archive_faults == {}  # the new upload replaced the truncated one
    new, new_rows = get_file(http, fresh, "BTCUSDT", period)  # its CHECKSUM verifies the new bytes
    assert new != old
    assert fetch(http, fresh, fresh.archive_path("BTCUSDT", period, checksum=True)).text != old_checksum
    changed = [i for i, (a, b) in enumerate(zip(old_rows, new_rows)) if a != b]
    assert changed == [90]
    assert in_ms(new_rows, True) == rest_rows(http, fresh, "BTCUSDT", "1m", day, day + DAY)
    assert in_ms([new_rows[90]], True)[0] == [str(v) for v in row]
    # defaults: the period's first candle, one more trade
    first = fresh.reupload_archive("BTCUSDT", period)
    assert first[0] == day and first[8] == int(old_rows[0][8]) + 1
    assert get_file(http, fresh, "BTCUSDT", period)[1][0][8] == str(first[8])
    with pytest.raises(ValueError):
        fresh.reupload_archive("BTCUSDT", period, open_time=day - MIN, trades=1)


def test_fail_next_hits_archive_paths_only_when_aimed_at_them(fresh, http):
    path = fresh.archive_path("BTCUSDT", "2025-02-06")
    fresh.fail_next(1, "503", path=path)
    r = fetch(http, fresh, path)
    assert r.status_code == 503 and "<Code>SlowDown</Code>" in r.text
    assert fetch(http, fresh, path).status_code == 200  # one-shot
    fresh.fail_next(1, "500")  # not aimed: left for the REST data endpoints
    assert fetch(http, fresh, path).status_code == 200
    assert fresh.pending_faults == 1
    assert (
        http.get(f"{fresh.url}/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1m"}, timeout=10).status_code
        == 500
    )
    fresh.fail_next(1, "truncated", path=path)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        fetch(http, fresh, path)


def test_fault_setters_validate_their_file(fresh):
    with pytest.raises(ValueError):
        fresh.truncate_archive("BTCUSDT", "2025/01")
    with pytest.raises(ValueError):
        fresh.unpublish_archive("BTCUSDT", "2025-01", interval="1s")  # no monthly 1s files
    with pytest.raises(ApiError, match="-1121|Invalid symbol"):
        fresh.corrupt_archive_checksum("XYZUSDT", "2025-01")


# ----------------------------------------------------------------------------------- cost
def test_the_archive_cache_is_bounded(http):
    # Speed is not asserted here (tests are not timed); a monthly 1m file builds in about 0.5 s.
    with ExchangeStandIn(symbols=("ETHUSDT",), now_ms=NOW, archive_cache_files=3) as ex:
        get_file(http, ex, "ETHUSDT", "2025-01")  # 44,640 rows
        for d in range(1, 6):
            get_file(http, ex, "ETHUSDT", f"2025-02-0{d}")
        assert ex.archive.cached_files == 3
