"""Binance's bulk archive files (data.binance.vision): names, periods, and the kline rows inside.

A file holds one period of one symbol and interval:
``data/spot/{monthly|daily}/klines/{SYMBOL}/{interval}/{SYMBOL}-{interval}-{YYYY-MM|YYYY-MM-DD}.zip``,
with ``.zip.CHECKSUM`` beside it (``sha256sum`` output). The zip holds one header-less CSV of the
12 kline fields. Spot files from 2025 carry open and close times in microseconds; the unit is read
from each file's own values, not assumed from its date, and converted exactly to the milliseconds
REST sends, so an archive hour is the same JSON a REST hour would be.
"""

import csv
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

SPOT_KLINES = "data/spot/{kind}/klines/{symbol}/{interval}/{name}"
CHECKSUM_SUFFIX = ".CHECKSUM"
# sha256sum's line: 64 hex digits, two spaces (or space and '*' for binary mode), the file name.
CHECKSUM_LINE = re.compile(rb"^([0-9a-fA-F]{64}) [ *](\S+)\s*$")
# An open time this large is in microseconds: in milliseconds it would be after the year 5000.
MICROSECONDS_FROM = 10**14
MS, US = "ms", "us"
KLINE_FIELDS = 12
OPEN_TIME, CLOSE_TIME, TRADES = 0, 6, 8


class ArchiveFileError(ValueError):
    """A downloaded archive file that does not verify or cannot be read (retried, then reported)."""


@dataclass(frozen=True)
class ArchivePeriod:
    """A file's period: a whole UTC month or day, ``[start, end)``."""

    start: datetime
    daily: bool

    @property
    def end(self) -> datetime:
        if self.daily:
            return self.start + timedelta(days=1)
        return self.start.replace(year=self.start.year + self.start.month // 12, month=self.start.month % 12 + 1)

    @property
    def label(self) -> str:
        return f"{self.start:%Y-%m-%d}" if self.daily else f"{self.start:%Y-%m}"

    @property
    def kind(self) -> str:
        return "daily" if self.daily else "monthly"

    @property
    def start_ms(self) -> int:
        return int(self.start.timestamp() * 1000)

    @property
    def end_ms(self) -> int:
        return int(self.end.timestamp() * 1000)

    def days(self) -> list["ArchivePeriod"]:
        """The daily periods of a month (a day is its own only day)."""
        if self.daily:
            return [self]
        count = (self.end - self.start).days
        return [ArchivePeriod(self.start + timedelta(days=i), daily=True) for i in range(count)]

    @classmethod
    def month_of(cls, moment: datetime) -> "ArchivePeriod":
        return cls(moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0), daily=False)

    @classmethod
    def day_of(cls, moment: datetime) -> "ArchivePeriod":
        return cls(moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0), daily=True)

    @classmethod
    def parse(cls, label: str) -> "ArchivePeriod":
        """``2025-01`` (monthly) or ``2025-01-31`` (daily)."""
        daily = len(label) == 10
        return cls(datetime.strptime(label, "%Y-%m-%d" if daily else "%Y-%m").replace(tzinfo=UTC), daily=daily)


@dataclass(frozen=True)
class ArchiveRef:
    """One archive file: symbol, interval and period."""

    symbol: str
    period: ArchivePeriod
    interval: str = "1m"

    @property
    def name(self) -> str:
        return f"{self.symbol}-{self.interval}-{self.period.label}.zip"

    @property
    def checksum_name(self) -> str:
        return self.name + CHECKSUM_SUFFIX

    def path(self, checksum: bool = False) -> str:
        name = self.checksum_name if checksum else self.name
        return SPOT_KLINES.format(kind=self.period.kind, symbol=self.symbol, interval=self.interval, name=name)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def listed_sha256(checksum_file: bytes, ref: ArchiveRef) -> str:
    """The hash a ``.CHECKSUM`` file lists for ``ref``'s zip (lower-case hex)."""
    match = CHECKSUM_LINE.match(checksum_file.strip())
    if match is None or match[2].decode(errors="replace").lstrip("*") != ref.name:
        shown = checksum_file[:120].decode(errors="replace")
        raise ArchiveFileError(f"Its .CHECKSUM is not a sha256sum line naming {ref.name}: {shown!r}")
    return match[1].decode().lower()


def verify(data: bytes, checksum_file: bytes, ref: ArchiveRef) -> str:
    """The zip's sha256 if it is the one the ``.CHECKSUM`` lists and the zip reads whole; else an error
    naming the file, the expected and the actual hash."""
    expected, actual = listed_sha256(checksum_file, ref), sha256(data)
    if actual != expected:
        raise ArchiveFileError(
            f"Its .CHECKSUM lists sha256 {expected}; the {len(data):,} bytes downloaded hash to {actual}"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            broken = archive.testzip()
    except zipfile.BadZipFile as error:
        raise ArchiveFileError(f"It hashes as listed ({actual}) but is not a readable zip: {error}") from None
    if broken is not None:
        raise ArchiveFileError(f"It hashes as listed ({actual}) but its member {broken} is corrupt")
    return actual


@dataclass(frozen=True)
class ArchiveRows:
    """A file's kline rows as REST sends them (times in ms, every value the file's own string)."""

    rows: list[list]
    time_unit: str  # the unit the file carried: "ms" or "us"


def kline_rows(data: bytes, ref: ArchiveRef) -> ArchiveRows:
    """The rows of a verified zip, oldest first, times converted exactly to milliseconds.

    The unit is the file's own: microseconds when its first open time is beyond any millisecond
    date, so a file is read right whichever side of Binance's 2025 switch it lies. Every row must
    open inside the file's period, have 12 fields and convert exactly."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = [m for m in archive.namelist() if m.lower().endswith(".csv")]
        if len(members) != 1:
            raise ArchiveFileError(f"{ref.name} holds {archive.namelist()}, not one CSV file")
        text = archive.read(members[0]).decode("ascii")
    lines = list(csv.reader(io.StringIO(text)))
    if lines and not lines[0][0].strip().isdigit():  # a header line (Binance's futures files have one)
        lines = lines[1:]
    if not lines:
        return ArchiveRows([], MS)
    unit = US if int(lines[0][OPEN_TIME]) >= MICROSECONDS_FROM else MS
    rows = [_rest_row(line, unit, ref, number) for number, line in enumerate(lines, start=1)]
    rows.sort(key=lambda row: row[OPEN_TIME])
    return ArchiveRows(rows, unit)


def _rest_row(line: list[str], unit: str, ref: ArchiveRef, number: int) -> list:
    if len(line) != KLINE_FIELDS:
        raise ArchiveFileError(f"{ref.name} line {number} has {len(line)} fields, not {KLINE_FIELDS}: {line}")
    open_time, close_time = int(line[OPEN_TIME]), int(line[CLOSE_TIME])
    if unit == US:
        # open times are whole milliseconds, close times end in 999 µs: both convert without loss.
        if open_time % 1000 or close_time % 1000 != 999:
            raise ArchiveFileError(
                f"{ref.name} line {number}: times {open_time}, {close_time} (µs) are not whole milliseconds"
            )
        open_time, close_time = open_time // 1000, close_time // 1000
    if not ref.period.start_ms <= open_time < ref.period.end_ms:
        raise ArchiveFileError(
            f"{ref.name} line {number}: open time {line[OPEN_TIME]} (read as {unit}) is outside {ref.period.label}"
        )
    row: list = list(line)
    row[OPEN_TIME], row[CLOSE_TIME], row[TRADES] = open_time, close_time, int(line[TRADES])
    return row
