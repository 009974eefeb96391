"""Known Binance spot outages: minutes in which the exchange produced no candles.

A gap inside one of these windows is the exchange's history, not data we lost, so the
completeness check reports it as a warning. Windows are half-open ``[start, end)`` in UTC and
come from Binance's maintenance announcements and the gaps its own kline history shows.
Add a window here (with its source) when Binance announces one; a gap anywhere else is an error.
"""

from datetime import UTC, datetime

from binance_assets.lib.partitions import to_ms


def _window(start: str, end: str, reason: str) -> tuple[int, int, str]:
    parse = lambda text: to_ms(datetime.fromisoformat(text).replace(tzinfo=UTC))  # noqa: E731
    return parse(start), parse(end), reason


KNOWN_OUTAGES: list[tuple[int, int, str]] = [
    _window("2018-02-08T00:28", "2018-02-09T10:00", "2018-02-08 system upgrade (trading halted ~33 h)"),
    _window("2019-05-15T03:00", "2019-05-15T13:00", "2019-05-15 system maintenance after the May 2019 hack"),
    _window("2020-02-19T11:35", "2020-02-19T17:30", "2020-02-19 spot trading engine maintenance"),
    _window("2021-04-25T04:01", "2021-04-25T08:45", "2021-04-25 spot trading engine upgrade"),
]


def known_outage(open_time_ms: int) -> str | None:
    """The reason the exchange has no candle at this minute, if it is a known outage."""
    for start, end, reason in KNOWN_OUTAGES:
        if start <= open_time_ms < end:
            return reason
    return None
