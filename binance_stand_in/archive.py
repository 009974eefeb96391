"""The bulk archive of the stand-in, as data.binance.vision serves it: zipped kline CSVs.

``/data/spot/{daily|monthly}/klines/{SYMBOL}/{interval}/{SYMBOL}-{interval}-{period}.zip``
holds one header-less CSV of the 12 kline fields, and ``.zip.CHECKSUM`` beside it its
sha256 as ``sha256sum`` prints it. Files are cut from the same synthetic candles as
``/api/v3/klines`` (market.py), so both agree to the digit; gaps and corrections show in
both. Only the time unit differs: since 2025 the spot archive is in microseconds.

The real bucket sits behind CloudFront, not api.binance.com: no request weight, no
``X-MBX-*`` headers, S3's XML error bodies. Building a file costs up to half a second (a
monthly 1m file is 44,640 rows, ~2.7 MB zipped), so built files are kept in a small LRU
(24 files: < 70 MB) keyed on the market's revision of the symbol; the archive faults are
applied when a file is served, so they cost no rebuild.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import io
import re
import threading
import zipfile
from collections import OrderedDict
from typing import NamedTuple

from .intervals import parse_interval
from .market import Market
from .prices import UNIT

ARCHIVE_PREFIX = "/data/"
# 2025-01-01 00:00 UTC: spot archive files whose period starts here or later carry
# microsecond open/close times (close time ...999999); earlier files stay in ms
MICROSECONDS_FROM_MS = 1_735_689_600_000

# Intervals the stand-in archives. 3d/1w/1M candles straddle daily and monthly files and a
# monthly 1s file would be 2.6 million rows: those are not served (404).
DAILY_INTERVALS = ("1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d")
MONTHLY_INTERVALS = DAILY_INTERVALS[1:]

# archive fault names (set by ExchangeStandIn.corrupt_archive_checksum & co.)
CORRUPT_CHECKSUM = "corrupt_checksum"
TRUNCATE = "truncate"
UNPUBLISH = "unpublish"
ARCHIVE_FAULTS = (CORRUPT_CHECKSUM, TRUNCATE, UNPUBLISH)

_PATH_RE = re.compile(
    r"^/data/spot/(daily|monthly)/klines/([A-Z0-9]{1,20})/([0-9a-zA-Z]{2,4})/"
    r"([A-Z0-9]{1,20})-([0-9a-zA-Z]{2,4})-([0-9]{4}-[0-9]{2}(?:-[0-9]{2})?)\.zip(\.CHECKSUM)?$"
)
_PERIOD_RE = re.compile(r"^([0-9]{4})-([0-9]{2})(?:-([0-9]{2}))?$")
_DAY_MS = 86_400_000


class Period(NamedTuple):
    """A file's period: ``label`` "2025-01" (monthly) or "2025-01-31" (daily), [start, end) ms."""

    label: str
    daily: bool
    start_ms: int
    end_ms: int

    @property
    def kind(self) -> str:
        return "daily" if self.daily else "monthly"


def parse_period(label: str) -> Period | None:
    """ "YYYY-MM" -> a monthly period, "YYYY-MM-DD" -> a daily one; None if not a date."""
    m = _PERIOD_RE.match(label)
    if not m:
        return None
    year, month, day = int(m[1]), int(m[2]), m[3]
    try:
        start = dt.datetime(year, month, int(day or 1), tzinfo=dt.UTC)
    except ValueError:
        return None
    start_ms = calendar.timegm(start.timetuple()) * 1000
    if day is not None:
        return Period(label, True, start_ms, start_ms + _DAY_MS)
    end = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=dt.UTC)
    return Period(label, False, start_ms, calendar.timegm(end.timetuple()) * 1000)


class FileKey(NamedTuple):
    symbol: str
    interval: str
    period: str  # the period's label

    @property
    def name(self) -> str:
        """The zip's file name, e.g. ``BTCUSDT-1m-2025-01.zip``."""
        return f"{self.symbol}-{self.interval}-{self.period}.zip"

    def path(self, checksum: bool = False) -> str:
        kind = "daily" if len(self.period) == 10 else "monthly"
        tail = ".CHECKSUM" if checksum else ""
        return f"/data/spot/{kind}/klines/{self.symbol}/{self.interval}/{self.name}{tail}"


class BuiltFile(NamedTuple):
    zip: bytes
    sha256: str  # hex
    rows: int


class Answer(NamedTuple):
    status: int
    body: bytes
    content_type: str
    headers: dict


class Archive:
    """Builds, caches and serves archive files of a :class:`Market`; holds the archive faults."""

    def __init__(self, market: Market, publish_delay_ms: int = 0, cache_files: int = 24):
        self.market = market
        self.publish_delay_ms = int(publish_delay_ms)
        self.cache_files = cache_files
        self._lock = threading.Lock()  # cache and faults
        self._build_lock = threading.Lock()  # one build at a time: a second asker waits for the cached file
        self._cache: OrderedDict[tuple[FileKey, int], BuiltFile | None] = OrderedDict()
        self._faults: dict[FileKey, set[str]] = {}

    # ------------------------------------------------------------------ files
    def key(self, symbol: str, period: str, interval: str = "1m") -> FileKey:
        """Validate a file's coordinates (for the Python API: raises ValueError / the -1121 ApiError)."""
        self.market.spec(symbol)
        p = parse_period(period)
        if p is None:
            raise ValueError(f"period {period!r} is neither YYYY-MM (monthly) nor YYYY-MM-DD (daily)")
        served = DAILY_INTERVALS if p.daily else MONTHLY_INTERVALS
        if interval not in served:
            raise ValueError(f"{p.kind} files are served for intervals {served}, not {interval!r}")
        return FileKey(symbol, interval, period)

    def published(self, period: Period, now_ms: int) -> bool:
        """Real Binance uploads a file after its period closed; here as soon as it has (+ the delay)."""
        return period.end_ms + self.publish_delay_ms <= now_ms

    def built(self, key: FileKey) -> BuiltFile | None:
        """The file as uploaded, without faults (None: no candle in its period, so no file)."""
        cache_key = (key, self.market.revision(key.symbol))
        with self._lock:
            if cache_key in self._cache:
                self._cache.move_to_end(cache_key)
                return self._cache[cache_key]
        with self._build_lock:
            with self._lock:
                if cache_key in self._cache:
                    return self._cache[cache_key]
            built = self._build(key)
            with self._lock:
                self._cache[cache_key] = built
                while len(self._cache) > self.cache_files:
                    self._cache.popitem(last=False)
        return built

    @property
    def cached_files(self) -> int:
        with self._lock:
            return len(self._cache)

    def _build(self, key: FileKey) -> BuiltFile | None:
        period = parse_period(key.period)
        iv = parse_interval(key.interval)
        # "now" at the period's end: every candle of the file is closed, whatever the market clock
        candles = self.market.klines(
            key.symbol,
            key.interval,
            period.end_ms,
            period.start_ms,
            period.end_ms - 1,
            (period.end_ms - period.start_ms) // iv.ms + 1,
        )
        if not candles:
            return None
        micro = period.start_ms >= MICROSECONDS_FROM_MS
        csv = "".join(_csv_line(c, micro) for c in candles).encode("ascii")
        buf = io.BytesIO()
        # fixed metadata, so the same candles always give the same bytes: the timestamp is
        # the period's end (about when Binance uploads), "Unix" on every platform
        info = zipfile.ZipInfo(key.name[: -len(".zip")] + ".csv", date_time=_zip_time(period.end_ms))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.create_system = 3
        info.external_attr = 0o644 << 16
        with zipfile.ZipFile(buf, "w") as zf:
            # level 1: a monthly 1m file deflates in ~60 ms instead of ~300 ms, ~15 % larger
            zf.writestr(info, csv, compresslevel=1)
        data = buf.getvalue()
        return BuiltFile(data, hashlib.sha256(data).hexdigest(), len(candles))

    # ------------------------------------------------------------------ faults
    def set_fault(self, key: FileKey, name: str) -> None:
        with self._lock:
            self._faults.setdefault(key, set()).add(name)

    def clear_faults(self, key: FileKey | None = None) -> None:
        with self._lock:
            if key is None:
                self._faults.clear()
            else:
                self._faults.pop(key, None)

    def faults(self) -> dict[tuple[str, str, str], tuple[str, ...]]:
        with self._lock:
            return {tuple(k): tuple(sorted(v)) for k, v in self._faults.items() if v}

    def _faults_of(self, key: FileKey) -> frozenset[str]:
        with self._lock:
            return frozenset(self._faults.get(key, ()))

    def reupload(self, key: FileKey, open_time: int | None = None, **values) -> list:
        """Re-upload the file with one candle changed (a correction REST shows too); the new
        upload replaces a truncated, corrupt or withdrawn one. Returns the candle's REST row."""
        period = parse_period(key.period)
        if open_time is None:  # the period's first candle
            first = self.market.klines(key.symbol, key.interval, period.end_ms, period.start_ms, period.end_ms - 1, 1)
            if not first:
                raise ValueError(f"{key.name} has no candle to change")
            open_time = first[0][0]
        if not period.start_ms <= open_time < period.end_ms:
            raise ValueError(f"open time {open_time} is outside {key.name}")
        if not values:  # a minimal change that keeps the candle valid: one more trade
            current = self.market.klines(key.symbol, key.interval, period.end_ms, open_time, open_time, 1)
            if not current:
                raise ValueError(f"{key.name} has no candle opening at {open_time}")
            values = {"trades": current[0][8] + 1}
        self.market.correct_candle(key.symbol, open_time, key.interval, **values)
        self.clear_faults(key)
        return self.market.klines(key.symbol, key.interval, period.end_ms, open_time, open_time, 1)[0].row()

    # ------------------------------------------------------------------ HTTP
    def respond(self, method: str, path: str, now_ms: int) -> Answer:
        """The answer to ``method path`` (``path`` without the query), faults applied."""
        if method not in ("GET", "HEAD"):
            return _s3_error(
                405, "MethodNotAllowed", "The specified method is not allowed against this resource.", path
            )
        m = _PATH_RE.match(path)
        if m is None:
            return _no_such_key(path)
        kind, symbol, interval, name_symbol, name_interval, label, checksum = m.groups()
        period = parse_period(label)
        if (
            symbol != name_symbol
            or interval != name_interval
            or period is None
            or period.kind != kind
            or interval not in (DAILY_INTERVALS if period.daily else MONTHLY_INTERVALS)
            or symbol not in self.market.specs
        ):
            return _no_such_key(path)
        key = FileKey(symbol, interval, label)
        faults = self._faults_of(key)
        if UNPUBLISH in faults or not self.published(period, now_ms):
            return _no_such_key(path)
        built = self.built(key)
        if built is None:  # before the listing, or halted throughout: nothing was uploaded
            return _no_such_key(path)
        if checksum:
            digest = built.sha256
            if CORRUPT_CHECKSUM in faults:  # a wrong, but well-formed, hash
                digest = hashlib.sha256(built.zip + b"corrupt").hexdigest()
            body = f"{digest}  {key.name}\n".encode("ascii")
            return Answer(200, body, "text/plain", _etag(body))
        body = built.zip
        if TRUNCATE in faults:  # the object itself is short (binance-public-data #413): a complete 200
            body = body[: len(body) // 2]
        return Answer(200, body, "application/zip", _etag(body))


def _csv_line(c, micro: bool) -> str:
    ot, o, h, lo, cl, v, ct, q, n, tb, tq = c
    if micro:
        ot, ct = ot * 1000, ct * 1000 + 999
    return _CSV_FMT % (
        ot,
        o // UNIT,
        o % UNIT,
        h // UNIT,
        h % UNIT,
        lo // UNIT,
        lo % UNIT,
        cl // UNIT,
        cl % UNIT,
        v // UNIT,
        v % UNIT,
        ct,
        q // UNIT,
        q % UNIT,
        n,
        tb // UNIT,
        tb % UNIT,
        tq // UNIT,
        tq % UNIT,
    )


_D8 = "%d.%08d"
_CSV_FMT = "%d," + ",".join([_D8] * 5) + ",%d," + _D8 + ",%d," + _D8 + "," + _D8 + ",0\n"


def _zip_time(ms: int) -> tuple[int, int, int, int, int, int]:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).timetuple()[:6]


def _etag(body: bytes) -> dict:
    # S3's ETag of a single-part upload is the body's MD5: lets a client notice a re-upload
    return {"ETag": '"%s"' % hashlib.md5(body).hexdigest()}


def _s3_error(status: int, code: str, message: str, path: str) -> Answer:
    request_id = hashlib.sha256(path.encode()).hexdigest()[:16].upper()
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message><Key>%s</Key>'
        "<RequestId>%s</RequestId><HostId>stand-in</HostId></Error>"
        % (code, _xml_escape(message), _xml_escape(path.lstrip("/")), request_id)
    ).encode()
    return Answer(status, body, "application/xml", {})


def _no_such_key(path: str) -> Answer:
    return _s3_error(404, "NoSuchKey", "The specified key does not exist.", path)


def s3_fault(status: int, path: str, message: str | None = None) -> Answer:
    """A 429/500/503 (fail_next on an archive path, or a bug), worded as S3 does."""
    if status == 500:
        return _s3_error(500, "InternalError", message or "We encountered an internal error. Please try again.", path)
    return _s3_error(status, "SlowDown", message or "Please reduce your request rate.", path)


def _xml_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
