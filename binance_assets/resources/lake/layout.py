"""Where every file of the lake lives.

``{zone}/{dataset}/symbol={SYMBOL}/year={YYYY}/month={MM}/day={DD}/hour={HH}/{file}`` — Hive-style
keys, so DuckDB, Spark or Athena can prune by partition, and one folder per symbol-hour, so a
rerun replaces exactly one folder. The same relative paths are used on disk and in S3.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

RAW = "raw"
CLEAN = "clean"
SUCCESS_MARKER = "_SUCCESS"

_PARTITION_DIR = re.compile(
    r"^(?P<zone>raw|clean)/(?P<dataset>[a-z_]+)/symbol=(?P<symbol>[A-Z0-9]+)/"
    r"year=(?P<year>\d{4})/month=(?P<month>\d{2})/day=(?P<day>\d{2})/hour=(?P<hour>\d{2})/"
    r"(?P<file>[^/]+)$"
)


@dataclass(frozen=True)
class LakeFile:
    zone: str
    dataset: str
    symbol: str
    hour: datetime
    file: str


def month_dir(zone: str, dataset: str, symbol: str, hour: datetime) -> str:
    """The folder of a symbol's month, holding its partitions' folders (one listing finds them all)."""
    return f"{zone}/{dataset}/symbol={symbol}/year={hour:%Y}/month={hour:%m}"


def partition_dir(zone: str, dataset: str, symbol: str, hour: datetime) -> str:
    return f"{month_dir(zone, dataset, symbol, hour)}/day={hour:%d}/hour={hour:%H}"


def raw_file(dataset: str, symbol: str, hour: datetime) -> str:
    return f"{partition_dir(RAW, dataset, symbol, hour)}/{dataset}.json"


def clean_file(dataset: str, symbol: str, hour: datetime) -> str:
    return f"{partition_dir(CLEAN, dataset, symbol, hour)}/{dataset}.parquet"


def archive_folder(dataset: str, symbol: str, period_start: datetime, daily: bool) -> str:
    """Where a bulk archive file is kept as sent, beside the hourly layout:
    ``raw/{dataset}_archive/symbol=S/year=YYYY/month=MM[/day=DD]`` (monthly files end at the month)."""
    folder = f"{RAW}/{dataset}_archive/symbol={symbol}/year={period_start:%Y}/month={period_start:%m}"
    return f"{folder}/day={period_start:%d}" if daily else folder


def archive_root(dataset: str) -> str:
    return f"{RAW}/{dataset}_archive"


def daily_file(zone: str, dataset: str, day: datetime) -> str:
    """A dataset fetched whole once a day (exchangeInfo): ``{zone}/{dataset}/year=/month=/day=/{dataset}.json``."""
    return f"{zone}/{dataset}/year={day:%Y}/month={day:%m}/day={day:%d}/{dataset}.json"


def snapshot_file(dataset: str, symbol: str, snapshot_ms: int) -> str:
    """A raw file of a dataset collected live (order-book snapshots), named by its snapshot time:
    ``.../hour=HH/20240301T000500.123Z.json``, sorting in time order."""
    moment = datetime.fromtimestamp(snapshot_ms / 1000, UTC)
    name = f"{moment:%Y%m%dT%H%M%S}.{snapshot_ms % 1000:03d}Z.json"
    return f"{partition_dir(RAW, dataset, symbol, moment.replace(minute=0, second=0, microsecond=0))}/{name}"


def sibling(path: str, name: str) -> str:
    """Another file in the same partition folder."""
    return f"{path.rsplit('/', 1)[0]}/{name}"


def marker_for(path: str) -> str:
    return sibling(path, SUCCESS_MARKER)


def parse(relative_path: str) -> LakeFile | None:
    """The partition a lake path belongs to, or None for a path outside the layout."""
    match = _PARTITION_DIR.match(relative_path)
    if not match:
        return None
    parts = match.groupdict()
    try:
        hour = datetime(int(parts["year"]), int(parts["month"]), int(parts["day"]), int(parts["hour"]), tzinfo=UTC)
    except ValueError:
        return None
    return LakeFile(parts["zone"], parts["dataset"], parts["symbol"], hour, parts["file"])
