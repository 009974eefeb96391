"""The hourly batch is the authority: its rows replace the stream's in ``FINAL``, whichever lands first."""

import pytest

from binance_assets_tests.harness import evaluations

HOUR = "2024-03-01-00:00"
WHO = "SELECT source, count(), countIf(fetched_at > close_time) FROM binance.klines FINAL GROUP BY source"
LOAD_STREAM = {"ops": {"clickhouse_klines_stream": {"config": {"first_hour": HOUR, "last_hour": HOUR}}}}


def load_stream(pipeline):
    return pipeline.materialize(None, selection=["clickhouse_klines_stream"], run_config=LOAD_STREAM)


@pytest.mark.parametrize("batch_first", [False, True], ids=["stream-then-batch", "batch-then-stream"])
def test_the_batch_replaces_stream_candles_whichever_lands_first(streamed_hour, clickhouse_query, batch_first):
    pipeline = streamed_hour
    if batch_first:
        batch = pipeline.materialize(HOUR)
        load_stream(pipeline)  # late live rows, e.g. the load path catching up
    else:
        load_stream(pipeline)
        assert clickhouse_query(WHO) == [("stream", 120, 0)]  # live rows: fetched_at = their close time
        batch = pipeline.materialize(HOUR)

    assert clickhouse_query(WHO) == [("rest", 120, 120)]  # every candle the batch's, fetched after its close
    assert clickhouse_query("SELECT count() FROM binance.klines") == [(240,)]  # both versions until a merge
    agrees = evaluations(batch, "klines_stream_agrees")[HOUR]
    assert agrees.passed
    assert {agrees.metadata[s].value["stream_candles"] for s in ("BTCUSDT", "ETHUSDT")} == {60}
