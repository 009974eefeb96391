"""Step retries: a failure retrying cannot fix fails the step at once; a busy warehouse is waited for."""

import threading
import time
import urllib.error
import urllib.request

import dagster as dg

from binance_assets.lib.retries import EXCHANGE_RETRY_POLICY, STORAGE_RETRY_POLICY
from binance_assets_tests.harness import embedded_clickhouse_held, failure_message, step_retries

HOUR = "2024-02-29-22:00"


def test_exchange_steps_retry_twice_with_growing_delays():
    assert EXCHANGE_RETRY_POLICY.max_retries == 2
    assert [EXCHANGE_RETRY_POLICY.calculate_delay(attempt) for attempt in (1, 2)] == [30, 90]


def get_banned(stand_in) -> None:
    """Another client ignores a Retry-After until the exchange answers 418 (an IP ban)."""
    stand_in.fail_next(1, "429", seconds=60, path="/api/v3/klines")
    hammer = f"{stand_in.url}/api/v3/klines?symbol=BTCUSDT&interval=1m"
    statuses = []
    for _ in range(3):
        try:
            urllib.request.urlopen(hammer, timeout=2)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)
    assert statuses[-1] == 418


def test_a_ban_fails_the_step_at_once_without_another_request(pipeline, stand_in):
    get_banned(stand_in)
    before = stand_in.count()

    result = pipeline.materialize(HOUR, selection=["raw_klines"], raise_on_error=False)

    assert not result.success
    assert "HTTP 418" in failure_message(result)
    assert step_retries(result) == 0
    assert stand_in.count() - before == 1  # the first 418 ends the run: no retry extends the ban


def test_bad_configuration_fails_the_step_at_once(pipeline):
    result = pipeline.materialize(HOUR, selection=["raw_klines"], raise_on_error=False, symbols="NOPEUSDT")

    assert not result.success
    assert "NOPEUSDT" in failure_message(result) and "BINANCE_SYMBOLS" in failure_message(result)
    assert step_retries(result) == 0


def test_storage_steps_retry_three_times_with_growing_delays():
    assert [STORAGE_RETRY_POLICY.calculate_delay(attempt) for attempt in (1, 2, 3)] == [15, 45, 105]


def test_a_load_refused_by_a_held_warehouse_is_retried_and_succeeds_once_it_is_released(pipeline, clickhouse_query):
    pipeline.materialize(HOUR, selection=["raw_klines", "klines_parquet"])
    results = []
    with embedded_clickhouse_held(pipeline.clickhouse_url):
        load = threading.Thread(
            target=lambda: results.append(pipeline.materialize(HOUR, selection=["clickhouse_klines"]))
        )
        load.start()
        deadline = time.monotonic() + 120  # a guard against hanging, not a timing assertion
        while not pipeline.instance.get_event_records(dg.EventRecordsFilter(dg.DagsterEventType.STEP_UP_FOR_RETRY)):
            assert time.monotonic() < deadline and load.is_alive()
            time.sleep(0.2)
    load.join()  # released: the retry 15 s later opens the warehouse

    assert results[0].success and step_retries(results[0]) == 1
    assert clickhouse_query("SELECT count() FROM binance.klines FINAL") == [(60,)]
