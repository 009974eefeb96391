"""Binance kline intervals: parsing, alignment of open times, close times.

Fixed-length intervals are aligned to the Unix epoch, except ``1w`` (weeks start on
Monday 00:00 UTC) and ``1M`` (calendar months, UTC).
"""

from __future__ import annotations

import calendar
import datetime as dt

SECOND_MS = 1_000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS
_MONDAY_OFFSET_MS = 4 * DAY_MS  # 1970-01-05 was the first Monday after the epoch

#: interval name -> nominal length in ms (1M: 30 days, used only for scaling values)
INTERVAL_MS: dict[str, int] = {
    "1s": SECOND_MS,
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": HOUR_MS,
    "2h": 2 * HOUR_MS,
    "4h": 4 * HOUR_MS,
    "6h": 6 * HOUR_MS,
    "8h": 8 * HOUR_MS,
    "12h": 12 * HOUR_MS,
    "1d": DAY_MS,
    "3d": 3 * DAY_MS,
    "1w": WEEK_MS,
    "1M": 30 * DAY_MS,
}
INTERVALS: tuple[str, ...] = tuple(INTERVAL_MS)


def _month_start(year: int, month: int) -> int:
    return calendar.timegm((year, month, 1, 0, 0, 0)) * 1000


def _year_month(t_ms: int) -> tuple[int, int]:
    d = dt.datetime.fromtimestamp(t_ms / 1000, tz=dt.UTC)
    return d.year, d.month


class Interval:
    """One kline interval: ``floor``/``ceil`` to open times, ``next``/``prev`` open time."""

    __slots__ = ("name", "ms", "index", "_offset", "monthly")

    def __init__(self, name: str):
        if name not in INTERVAL_MS:
            raise ValueError(name)
        self.name = name
        self.ms = INTERVAL_MS[name]
        self.index = INTERVALS.index(name)
        self.monthly = name == "1M"
        self._offset = _MONDAY_OFFSET_MS if name == "1w" else 0

    def floor(self, t: int) -> int:
        """Open time of the candle containing ``t``."""
        if self.monthly:
            return _month_start(*_year_month(t))
        return (t - self._offset) // self.ms * self.ms + self._offset

    def ceil(self, t: int) -> int:
        """The first open time >= ``t``."""
        f = self.floor(t)
        return f if f == t else self.next(f)

    def next(self, open_ms: int) -> int:
        if self.monthly:
            y, m = _year_month(open_ms)
            return _month_start(y + (m == 12), m % 12 + 1)
        return open_ms + self.ms

    def prev(self, open_ms: int) -> int:
        if self.monthly:
            y, m = _year_month(open_ms)
            return _month_start(y - (m == 1), (m - 2) % 12 + 1)
        return open_ms - self.ms

    def close_time(self, open_ms: int) -> int:
        return self.next(open_ms) - 1


_CACHE = {name: Interval(name) for name in INTERVALS}


def parse_interval(name: str) -> Interval | None:
    return _CACHE.get(name)
