"""Completeness and OHLC checks: an exchange outage is told apart from a candle we lost."""

import dagster as dg
import polars as pl

from binance_assets.defs.klines.checks import completeness_verdict
from binance_assets.lib.partitions import parse_hour, to_ms
from binance_assets_tests.harness import evaluations

# Dagster 1.13 cannot infer the partitions of a run that selects partitioned checks alone, so
# re-checking the lake also reloads the warehouse (harmless: ReplacingMergeTree).
LAKE_CHECKS = dg.AssetSelection.checks_for_assets("klines_parquet") | dg.AssetSelection.assets("clickhouse_klines")


def minute(key: str, m: int) -> int:
    return to_ms(parse_hour(key)) + m * 60_000


def test_a_complete_hour_passes_every_check(pipeline):
    result = pipeline.materialize("2024-02-29-22:00")
    for check in ("klines_complete", "klines_ohlc_valid", "klines_reconciled"):
        verdict = evaluations(result, check)["2024-02-29-22:00"]
        assert verdict.passed, (check, verdict.metadata)
    assert evaluations(result, "klines_complete")["2024-02-29-22:00"].metadata["distinct_minutes"].value == 60


def test_a_gap_inside_a_known_exchange_outage_is_a_warning(pipeline, stand_in):
    hour = "2021-04-25-04:00"  # Binance halted spot trading 04:01–08:45 UTC that day
    stand_in.remove_range("BTCUSDT", minute(hour, 1), minute(hour, 60))
    verdict = evaluations(pipeline.materialize(hour), "klines_complete")[hour]

    assert not verdict.passed
    assert verdict.severity == dg.AssetCheckSeverity.WARN
    assert verdict.metadata["missing_minutes"].value == 59
    assert "2021-04-25" in verdict.metadata["exchange_outage"].value
    assert "lost_minutes" not in verdict.metadata


def test_a_gap_anywhere_else_is_an_error_listing_the_missing_minutes(pipeline, stand_in):
    hour = "2024-02-29-10:00"
    stand_in.remove_candles("BTCUSDT", [minute(hour, m) for m in (5, 6, 7)])
    result = pipeline.materialize(hour)
    verdict = evaluations(result, "klines_complete")[hour]

    assert not verdict.passed and verdict.severity == dg.AssetCheckSeverity.ERROR
    assert verdict.metadata["lost_minutes"].value == "05, 06, 07"
    assert evaluations(result, "klines_reconciled")[hour].passed  # 57 everywhere: nothing lost by us


def test_a_candle_lost_between_raw_and_parquet_fails_completeness_and_reconciliation(pipeline):
    hour = "2024-02-29-22:00"
    pipeline.materialize(hour)
    parquet = pipeline.lake_dir / "clean/klines/symbol=BTCUSDT/year=2024/month=02/day=29/hour=22/klines.parquet"
    pl.read_parquet(parquet).filter(pl.col("open_time").dt.minute() != 30).write_parquet(parquet)

    result = pipeline.materialize(hour, selection=LAKE_CHECKS)
    complete, reconciled = evaluations(result, "klines_complete")[hour], evaluations(result, "klines_reconciled")[hour]
    assert complete.severity == dg.AssetCheckSeverity.ERROR and complete.metadata["lost_minutes"].value == "30"
    assert not reconciled.passed
    assert (reconciled.metadata["raw_rows"].value, reconciled.metadata["parquet_rows"].value) == (60, 59)


def test_duplicates_and_broken_ohlc_are_errors(pipeline):
    hour = "2024-02-29-22:00"
    pipeline.materialize(hour, selection=["raw_klines", "klines_parquet"])
    parquet = pipeline.lake_dir / "clean/klines/symbol=BTCUSDT/year=2024/month=02/day=29/hour=22/klines.parquet"
    frame = pl.read_parquet(parquet)
    broken = frame.head(1).with_columns(low_price=pl.col("high_price") + 1)
    pl.concat([frame, broken]).sort("open_time").write_parquet(parquet)

    result = pipeline.materialize(hour, selection=LAKE_CHECKS)
    complete, ohlc = evaluations(result, "klines_complete")[hour], evaluations(result, "klines_ohlc_valid")[hour]
    assert not complete.passed and complete.metadata["duplicates"].value == 1
    assert not ohlc.passed and ohlc.metadata["bad_ohlc"].value == 1


def test_several_symbols_share_the_hours_verdict(pipeline, stand_in):
    pipeline.symbols = "BTCUSDT,ETHUSDT"
    hour = "2024-02-29-12:00"
    stand_in.remove_candles("ETHUSDT", [minute(hour, 59)])
    verdict = evaluations(pipeline.materialize(hour), "klines_complete")[hour]

    assert not verdict.passed
    assert verdict.metadata["ETHUSDT"].value["lost_minutes"] == "59"
    assert verdict.metadata["BTCUSDT"].value["missing_minutes"] == 0


def test_off_minute_candles_from_early_history_count_for_their_minute_and_warn():
    hour = parse_hour("2018-01-05-10:00")
    times = [to_ms(hour) + m * 60_000 for m in range(60)]
    times[3] += 123  # as in Binance's early-2018 history
    verdict = completeness_verdict(hour, times)

    assert not verdict.passed and verdict.severity == dg.AssetCheckSeverity.WARN
    assert verdict.metadata["off_grid_candles"] == 1 and verdict.metadata["missing_minutes"] == 0
    times.append(times[3] - 123)  # the same minute twice is a duplicate, an error
    assert completeness_verdict(hour, times).severity == dg.AssetCheckSeverity.ERROR


def test_an_unreadable_parquet_file_fails_each_check_for_its_hour_without_erroring_the_step(pipeline):
    pipeline.materialize("2024-02-29-21:00", last="2024-02-29-22:00")  # loaded and checked
    parquet = pipeline.lake_dir / "clean/klines/symbol=BTCUSDT/year=2024/month=02/day=29/hour=21/klines.parquet"
    parquet.write_bytes(b"PAR1 this is not parquet")  # its _SUCCESS stays

    checks_only = dg.AssetSelection.assets("raw_klines") | dg.AssetSelection.checks_for_assets(
        "klines_parquet", "clickhouse_klines"
    )
    result = pipeline.materialize("2024-02-29-21:00", last="2024-02-29-22:00", selection=checks_only)

    assert result.success  # every check step ran to the end: the file fails its hour's checks instead
    for check in ("klines_complete", "klines_ohlc_valid", "klines_reconciled"):
        bad, good = evaluations(result, check)["2024-02-29-21:00"], evaluations(result, check)["2024-02-29-22:00"]
        assert good.passed, (check, good.metadata)
        assert not bad.passed and bad.severity == dg.AssetCheckSeverity.ERROR, check
        assert bad.metadata["file"].value == str(parquet)
        assert bad.metadata["error"].value.startswith("unreadable Parquet: ")
        assert bad.metadata["fix"].value == "re-materialise klines_parquet for 2024-02-29-21:00 to rewrite it"
        # each hour's result still names the materialization it checked (the one step runs them all)
        assert bad.target_materialization_data is not None and good.target_materialization_data is not None, check
