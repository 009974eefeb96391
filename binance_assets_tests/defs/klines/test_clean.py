"""Raw and clean klines in the lake: layout, markers, unmodified raw, exact typed Parquet."""

import json
from decimal import Decimal

import polars as pl
import pytest

from binance_assets.defs.klines.clean import klines_frames
from binance_assets.errors import ConfigurationError
from binance_assets.lib.partitions import parse_hour, to_ms
from binance_assets.resources.lake import LakeResource
from binance_assets_tests.harness import failure_message, step_retries

HOUR = "2024-02-29-22:00"
HOUR_MS = to_ms(parse_hour(HOUR))
REQUIRED = [
    "trading_pair",
    "open_time",
    "close_time",
    "open_price",
    "high_price",
    "low_price",
    "close_price",
    "base_volume",
    "quote_volume",
    "number_of_trades",
]
FOLDER = "symbol={}/year=2024/month=02/day=29/hour=22"


def test_an_hour_lands_raw_as_sent_and_clean_as_exact_decimals(pipeline, stand_in):
    pipeline.symbols = "BTCUSDT,ETHUSDT"
    stand_in.correct_candle("BTCUSDT", HOUR_MS + 7 * 60_000, close="67123.45678901", high="99999999.99999999")
    pipeline.materialize(HOUR, selection=["raw_klines", "klines_parquet"])

    for symbol in ("BTCUSDT", "ETHUSDT"):
        served = stand_in.candles(symbol, start_ms=HOUR_MS, end_ms=HOUR_MS + 3_599_999)
        raw_dir = pipeline.lake_dir / "raw/klines" / FOLDER.format(symbol)
        assert json.loads((raw_dir / "klines.json").read_text()) == served
        assert json.loads((raw_dir / "_SUCCESS").read_text())["rows"] == 60

        clean_dir = pipeline.lake_dir / "clean/klines" / FOLDER.format(symbol)
        assert (clean_dir / "_SUCCESS").exists()
        frame = pl.read_parquet(clean_dir / "klines.parquet")
        assert frame.columns[:10] == REQUIRED
        assert frame.schema["open_time"] == pl.Datetime("ms", "UTC")
        assert frame.schema["close_price"] == pl.Decimal(38, 8)
        assert frame["open_time"].is_sorted() and frame.height == 60
        assert frame["trading_pair"].unique().to_list() == [symbol]
        for row, sent in zip(frame.iter_rows(named=True), served, strict=True):
            assert to_ms(row["open_time"]) == sent[0] and to_ms(row["close_time"]) == sent[6]
            assert [row[c] for c in ("open_price", "high_price", "low_price", "close_price")] == [
                Decimal(v) for v in sent[1:5]
            ]
            assert f"{row['quote_volume']:.8f}" == sent[7] and row["number_of_trades"] == sent[8]


def test_a_rerun_replaces_the_hour_in_place(pipeline, stand_in):
    pipeline.materialize(HOUR, selection=["raw_klines", "klines_parquet"])
    stand_in.correct_candle("BTCUSDT", HOUR_MS, close="1.00000001", low="1.00000000")
    pipeline.materialize(HOUR, selection=["raw_klines", "klines_parquet"])

    clean_dir = pipeline.lake_dir / "clean/klines" / FOLDER.format("BTCUSDT")
    assert sorted(p.name for p in clean_dir.iterdir()) == ["_SUCCESS", "klines.parquet"]
    frame = pl.read_parquet(clean_dir / "klines.parquet")
    assert frame.height == 60 and frame["close_price"][0] == Decimal("1.00000001")


def test_the_clean_step_names_every_missing_raw_hour_and_the_range_to_materialise_first(pipeline):
    pipeline.materialize("2024-02-29-19:00", selection=["raw_klines"])  # 1 of 8 hours has its raw file

    result = pipeline.materialize(
        "2024-02-29-16:00", last="2024-02-29-23:00", selection=["klines_parquet"], raise_on_error=False
    )

    assert not result.success and step_retries(result) == 0  # waiting does not make the raw files appear
    assert failure_message(result).splitlines()[0] == (
        "binance_assets.lib.clean.MissingUpstreamError: No complete raw klines for 7 symbol-hour(s) "
        "(BTCUSDT 2024-02-29 16:00, BTCUSDT 2024-02-29 17:00, BTCUSDT 2024-02-29 18:00, BTCUSDT 2024-02-29 20:00, "
        "BTCUSDT 2024-02-29 21:00 and 2 more): the raw file or its _SUCCESS is missing; materialise raw_klines for "
        "2024-02-29-16:00...2024-02-29-23:00 first (the other 1 symbol-hour(s) were written)."
    )


def test_an_unwritable_lake_names_the_setting(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ConfigurationError, match="not writable.*Set LAKE_URL"):
        LakeResource(url=str(blocker / "lake")).store


def test_a_range_is_cleaned_in_one_pass_yet_each_hour_keeps_its_own_candles_and_version(stand_in):
    """A week is cleaned in one polars pass: no candle, fetch time or source may cross into another hour."""
    hours = [HOUR_MS + h * 3_600_000 for h in range(-3, 1)]
    raw = [
        (stand_in.candles("BTCUSDT", start_ms=hours[0], end_ms=hours[0] + 3_599_999)[::-1], 1_709_300_000_000, "rest"),
        ([], 1_709_300_000_001, "rest"),  # an hour without candles
        (stand_in.candles("BTCUSDT", start_ms=hours[2], end_ms=hours[2] + 3_599_999), 1_709_400_000_000, "archive"),
        (stand_in.candles("BTCUSDT", start_ms=hours[3], end_ms=hours[3] + 1_799_999), None, "stream"),
    ]

    together = klines_frames("BTCUSDT", raw)

    assert [frame.height for frame in together] == [60, 0, 60, 30]
    for frame, (rows, fetched_at_ms, source) in zip(together, raw, strict=True):
        assert frame.equals(klines_frames("BTCUSDT", [(rows, fetched_at_ms, source)])[0])
        assert frame["open_time"].dt.epoch("ms").to_list() == sorted(row[0] for row in rows)
        assert set(frame["source"]) <= {source}
        expected_version = [fetched_at_ms] * len(rows) if fetched_at_ms else sorted(row[6] for row in rows)
        assert frame["fetched_at"].dt.epoch("ms").to_list() == expected_version
