"""The stream is judged: against the batch every hour, and on its live edge every minute."""

import dagster as dg

from binance_assets.defs.klines.live.checks import klines_live_edge_fresh
from binance_assets.lib.partitions import MINUTE_MS
from binance_assets_tests.harness import (
    STREAM_START_MS,
    LiveStream,
    evaluations,
    minutes_ago,
    move_market,
    open_live_market,
)

HOUR = "2024-03-01-00:00"
MINUTE_7 = STREAM_START_MS // MINUTE_MS * MINUTE_MS + 7 * MINUTE_MS


def test_a_stream_candle_that_disagreed_with_the_batch_is_reported_with_its_values(streamed_hour, clickhouse_query):
    stand_in = streamed_hour.stand_in
    streamed = stand_in.candles("BTCUSDT", start_ms=MINUTE_7, end_ms=MINUTE_7)[0]
    stand_in.correct_candle("BTCUSDT", MINUTE_7, close="70000.12345678", high="70000.12345678")  # REST differs

    result = streamed_hour.materialize(HOUR)

    assert result.success  # the batch's data is right; the check says what the live edge showed before
    verdict = evaluations(result, "klines_stream_agrees")[HOUR]
    assert not verdict.passed and verdict.severity == dg.AssetCheckSeverity.WARN
    btc, eth = verdict.metadata["BTCUSDT"].value, verdict.metadata["ETHUSDT"].value
    assert (btc["stream_candles"], btc["disagreeing_candles"]) == (60, 1)
    assert btc["differences"] == [
        {"minute": "00:07", "field": "high_price", "stream": streamed[2], "batch": "70000.12345678"},
        {"minute": "00:07", "field": "close_price", "stream": streamed[4], "batch": "70000.12345678"},
    ]
    assert (eth["stream_candles"], eth["disagreeing_candles"], eth["differences"]) == (60, 0, [])
    served = clickhouse_query(
        "SELECT toDecimalString(close_price, 8), source FROM binance.klines FINAL "
        "WHERE trading_pair = 'BTCUSDT' AND toUnixTimestamp64Milli(open_time) = {t:Int64}",
        t=MINUTE_7,
    )
    assert served == [("70000.12345678", "rest")]


def test_the_agreement_check_runs_in_the_klines_step_and_fails_an_unreadable_parquet_hour(streamed_hour):
    first = streamed_hour.materialize(HOUR)
    parquet = streamed_hour.lake_dir / "clean/klines/symbol=BTCUSDT/year=2024/month=03/day=01/hour=00/klines.parquet"
    parquet.write_bytes(b"PAR1 this is not parquet")  # its _SUCCESS stays

    checks_only = dg.AssetSelection.assets("raw_klines") | dg.AssetSelection.checks_for_assets("clickhouse_klines")
    result = streamed_hour.materialize(HOUR, selection=checks_only)

    assert result.success  # a failed check, not an errored step
    [step] = {e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION}
    assert step == "klines_checks"  # the stream's check runs in the dataset's one check step
    verdict = evaluations(result, "klines_stream_agrees")[HOUR]
    assert not verdict.passed and verdict.severity == dg.AssetCheckSeverity.ERROR
    bad = verdict.metadata["BTCUSDT"].value
    assert bad["file"] == str(parquet) and bad["error"].startswith("unreadable Parquet: ")
    assert bad["fix"] == f"re-materialise klines_parquet for {HOUR} to rewrite it"
    assert verdict.metadata["ETHUSDT"].value["disagreeing_candles"] == 0
    # it names the materialization it checked: the hour's load, by the first run
    assert verdict.target_materialization_data.run_id == first.run_id != result.run_id


def check_live_edge(pipeline, symbols: str) -> dg.AssetCheckEvaluation:
    result = pipeline.materialize(None, selection=dg.AssetSelection.checks(klines_live_edge_fresh), symbols=symbols)
    return result.get_asset_check_evaluations()[0]


def test_the_live_edge_check_fails_once_a_symbol_is_more_than_two_minutes_behind(stand_in, pipeline):
    now = minutes_ago(0)  # the candle open now, by the real clock the check judges by
    open_live_market(pipeline, now - 10 * MINUTE_MS + 30_000)  # the market 10 minutes behind
    with LiveStream(pipeline, direct=False) as stream:
        move_market(stand_in, 2 * MINUTE_MS)
        stream.wait_for_edge(now - 9 * MINUTE_MS)
        stale = check_live_edge(pipeline, "BTCUSDT,ETHUSDT")
        move_market(stand_in, 8 * MINUTE_MS)  # caught up: the newest candle closed within the last minute
        stream.wait_for_edge(now - MINUTE_MS)
        fresh = check_live_edge(pipeline, "BTCUSDT,ETHUSDT")
        unknown = check_live_edge(pipeline, "BTCUSDT,BNBUSDT")  # a symbol the stream never wrote

    assert not stale.passed and stale.metadata["symbols_behind"].value == "BTCUSDT, ETHUSDT"
    assert stale.metadata["edge_age_s"].value > 7 * 60
    assert fresh.passed and fresh.metadata["symbols_behind"].value == "none"
    assert fresh.metadata["edge_age_s"].value <= 120
    assert not unknown.passed and unknown.metadata["symbols_behind"].value == "BNBUSDT"


def test_without_any_stream_the_live_edge_check_says_to_start_one(pipeline):
    verdict = check_live_edge(pipeline, "BTCUSDT")
    assert not verdict.passed
    assert "start `binance-assets stream`" in verdict.metadata["error"].value
