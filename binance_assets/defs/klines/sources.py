"""Which source each stretch of a klines range comes from (``KLINES_SOURCE``).

``auto``: a month that has ended on the exchange's clock comes from its monthly archive file when
the range covers at least a week of it (only the range's hours are written); every other day that
has ended comes from its daily file; the day still running (and anything later) from REST. A file the archive does not have (404: not published yet,
or a symbol it lacks) falls back a step: a month to its days, a day to REST. ``archive`` follows
the same plan but a day that has not ended, or a day file the archive lacks, is an error.
``rest``: the whole range from REST.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from binance_assets.errors import ConfigurationError
from binance_assets.resources.binance.archive_files import ArchivePeriod

AUTO, REST_ONLY, ARCHIVE_ONLY = "auto", "rest", "archive"
DAY_MS = 86_400_000
# From a week of a month on, one monthly file (~2 requests, a few MB) beats a daily file per day
# (2 requests each, latency-bound); below it the daily files move less data.
MONTHLY_FILE_FROM_MS = 7 * DAY_MS


@dataclass(frozen=True)
class Span:
    """Candles opening in ``[start_ms, end_ms)``, from the archive file of ``period`` (None: REST)."""

    start_ms: int
    end_ms: int
    period: ArchivePeriod | None = None


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _days(period: ArchivePeriod, start_ms: int, end_ms: int, now_ms: int) -> list[Span]:
    spans = []
    for day in period.days():
        low, high = max(day.start_ms, start_ms), min(day.end_ms, end_ms)
        if low < high:
            spans.append(Span(low, high, day if day.end_ms <= now_ms else None))
    return spans


def plan(start_ms: int, end_ms: int, now_ms: int, source: str) -> list[Span]:
    """The spans of ``[start_ms, end_ms)`` in time order, for candles closed by ``now_ms``."""
    if source == REST_ONLY:
        return [Span(start_ms, end_ms)]
    spans: list[Span] = []
    month = ArchivePeriod.month_of(_moment(start_ms))
    while month.start_ms < end_ms:
        low, high = max(month.start_ms, start_ms), min(month.end_ms, end_ms)
        if month.end_ms <= now_ms and high - low >= MONTHLY_FILE_FROM_MS:
            spans.append(Span(low, high, month))
        else:
            spans.extend(_days(month, start_ms, end_ms, now_ms))
        month = ArchivePeriod.month_of(month.end)
    if source == ARCHIVE_ONLY:
        running = next((span for span in spans if span.period is None), None)
        if running is not None:
            raise ConfigurationError(
                f"KLINES_SOURCE=archive, but the hours from {_moment(running.start_ms):%Y-%m-%d %H}:00 UTC on lie in "
                f"a day that has not ended (exchange time {_moment(now_ms):%Y-%m-%d %H:%M} UTC): the archive "
                "publishes a day after it ends. End the range before that day, or set KLINES_SOURCE=auto to take "
                "the recent hours from REST."
            )
    return spans


def fallback(span: Span) -> list[Span]:
    """What replaces an archive span whose file the archive lacks: a month's days, or REST for a day."""
    if span.period is not None and not span.period.daily:
        return _days(span.period, span.start_ms, span.end_ms, span.period.end_ms)
    return [Span(span.start_ms, span.end_ms)]
