"""Which source each stretch of a range comes from: whole months, then days, then REST for the running day."""

import pytest

from binance_assets.defs.klines.sources import Span, fallback, plan
from binance_assets.errors import ConfigurationError
from binance_assets.lib.partitions import parse_hour, to_ms


def at(key: str) -> int:
    return to_ms(parse_hour(key))


def described(spans: list[Span]) -> list[tuple]:
    return [(s.period.label if s.period else "rest", s.start_ms, s.end_ms) for s in spans]


NOW = at("2025-03-05-12:00")


def test_auto_takes_ended_months_then_days_then_rest_for_the_running_day():
    spans = plan(at("2025-01-31-22:00"), at("2025-03-05-12:00"), NOW, "auto")

    assert described(spans) == [
        ("2025-01-31", at("2025-01-31-22:00"), at("2025-02-01-00:00")),  # part of a day: its daily file
        ("2025-02", at("2025-02-01-00:00"), at("2025-03-01-00:00")),  # a whole month inside the range
        ("2025-03-01", at("2025-03-01-00:00"), at("2025-03-02-00:00")),
        ("2025-03-02", at("2025-03-02-00:00"), at("2025-03-03-00:00")),
        ("2025-03-03", at("2025-03-03-00:00"), at("2025-03-04-00:00")),
        ("2025-03-04", at("2025-03-04-00:00"), at("2025-03-05-00:00")),
        ("rest", at("2025-03-05-00:00"), at("2025-03-05-12:00")),  # the day still running
    ]
    # A week or more of an ended month: its monthly file, for the range's hours only.
    assert described(plan(at("2025-01-20-05:00"), at("2025-02-01-00:00"), NOW, "auto")) == [
        ("2025-01", at("2025-01-20-05:00"), at("2025-02-01-00:00"))
    ]
    assert described(plan(at("2025-01-31-22:00"), at("2025-02-02-00:00"), NOW, "rest")) == [
        ("rest", at("2025-01-31-22:00"), at("2025-02-02-00:00"))
    ]


def test_a_month_the_archive_lacks_falls_back_to_its_days_and_a_day_to_rest():
    (february,) = plan(at("2025-02-01-00:00"), at("2025-03-01-00:00"), NOW, "auto")
    days = fallback(february)

    assert len(days) == 28 and days[0].period.label == "2025-02-01" and days[-1].end_ms == february.end_ms
    assert described(fallback(days[3])) == [("rest", days[3].start_ms, days[3].end_ms)]


def test_archive_only_refuses_a_day_that_has_not_ended():
    with pytest.raises(ConfigurationError, match="KLINES_SOURCE=archive, but the hours from 2025-03-05 00:00 UTC on"):
        plan(at("2025-03-04-00:00"), at("2025-03-05-12:00"), NOW, "archive")
