"""Faults of the exchange under a klines range run: answers that fail now and then, slowly, cut
short or throttled; an outage; refusals no retry fixes. After each: every hour exact or visibly failed."""

import contextlib
import urllib.error
import urllib.request

import dagster as dg

from binance_assets_tests.harness import failure_message, klines_outcomes

FIRST, LAST = "2024-02-28-00:00", "2024-02-28-23:00"  # 24 hours: two pages of klines
KLINES = "/api/v3/klines"


def test_flaky_slow_cut_and_throttled_answers_are_ridden_out_exactly(pipeline, stand_in):
    stand_in.latency_s = 0.2  # every answer slow
    stand_in.fail_next(1, "timeout", seconds=3, path="/api/v3/exchangeInfo")  # one past the 2 s timeout
    for kind in ("502", "truncated", "429"):  # one klines request answered badly three times, then served
        stand_in.fail_next(1, kind, seconds=1 if kind == "429" else None, path=KLINES)

    result = pipeline.materialize(FIRST, last=LAST)

    assert result.success and stand_in.pending_faults == 0
    assert not any(e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY for e in result.all_events)
    assert set(klines_outcomes(pipeline, pipeline.instance, FIRST, LAST).values()) == {"exact"}


def test_a_ban_mid_range_fails_the_hours_visibly_at_once_and_the_rerun_after_it_is_exact(pipeline, stand_in):
    stand_in.fail_next(1, "429", seconds=60, path=KLINES)
    hammer = f"{stand_in.url}{KLINES}?symbol=BTCUSDT&interval=1m"
    for _ in range(3):  # another client on this IP ignores Retry-After: the IP is banned
        with contextlib.suppress(urllib.error.HTTPError):
            urllib.request.urlopen(hammer, timeout=2)

    failed = pipeline.materialize(FIRST, last=LAST, raise_on_error=False)  # RetryPolicy on: not used

    assert "ExchangeBannedError" in failure_message(failed) and "HTTP 418" in failure_message(failed)
    assert not any(e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY for e in failed.all_events)
    assert set(klines_outcomes(pipeline, pipeline.instance, FIRST, LAST).values()) == {"failed"}
    stand_in.reset_limits()  # the ban is over
    assert pipeline.materialize(FIRST, last=LAST).success
    assert set(klines_outcomes(pipeline, pipeline.instance, FIRST, LAST).values()) == {"exact"}


def test_a_refusal_no_retry_fixes_fails_the_step_at_once_despite_its_retry_policy(pipeline, stand_in):
    stand_in.fail_next(1, "451", path=KLINES)

    failed = pipeline.materialize(FIRST, last=LAST, raise_on_error=False)  # RetryPolicy on: not used

    assert "RestrictedLocationError" in failure_message(failed) and "Set BINANCE_API_URL" in failure_message(failed)
    assert not any(e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY for e in failed.all_events)
    assert stand_in.count(path=KLINES) == 1
    assert set(klines_outcomes(pipeline, pipeline.instance, FIRST, LAST).values()) == {"failed"}
