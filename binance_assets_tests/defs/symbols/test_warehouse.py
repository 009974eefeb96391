"""The symbol dimension: exchangeInfo kept raw in the lake and loaded into {db}.symbols."""

import json
from decimal import Decimal

import dagster as dg
import requests

from binance_assets.definitions import defs

COLUMNS = (
    "SELECT symbol, status, base_asset, quote_asset, base_asset_precision, quote_asset_precision, tick_size, "
    "step_size, min_qty, min_notional, is_spot_trading_allowed FROM binance.symbols FINAL ORDER BY symbol"
)


def test_exchange_info_lands_in_the_symbols_dimension_and_refreshes(pipeline, stand_in, clickhouse_query):
    result = pipeline.materialize(None, group="symbols")
    assert result.success

    served = requests.get(f"{stand_in.url}/api/v3/exchangeInfo", timeout=5).json()["symbols"]
    expected = []
    for entry in served:
        filters = {f["filterType"]: f for f in entry["filters"]}
        expected.append(
            (
                entry["symbol"],
                entry["status"],
                entry["baseAsset"],
                entry["quoteAsset"],
                entry["baseAssetPrecision"],
                entry["quoteAssetPrecision"],
                Decimal(filters["PRICE_FILTER"]["tickSize"]),
                Decimal(filters["LOT_SIZE"]["stepSize"]),
                Decimal(filters["LOT_SIZE"]["minQty"]),
                Decimal(filters["NOTIONAL"]["minNotional"]),
                entry["isSpotTradingAllowed"],
            )
        )
    assert clickhouse_query(COLUMNS) == sorted(expected)
    lake_file = result.asset_materializations_for_node("exchange_info")[0].metadata["lake_file"].value
    assert json.loads((pipeline.lake_dir / lake_file).read_text())["symbols"] == served

    assert result.get_asset_check_evaluations()[0].passed  # configured_symbols_trading

    pipeline.symbols = "BTCUSDT,ETHUSDT"
    stand_in.set_symbol_status("ETHUSDT", "BREAK")
    refreshed = pipeline.materialize(None, group="symbols")
    statuses = dict(clickhouse_query("SELECT symbol, status FROM binance.symbols FINAL"))
    assert statuses == {"BTCUSDT": "TRADING", "ETHUSDT": "BREAK"}  # the latest fetch wins, one row a symbol
    (trading,) = refreshed.get_asset_check_evaluations()
    assert not trading.passed and trading.metadata["not_trading"].value == {"ETHUSDT": "BREAK"}


def test_the_symbols_refresh_daily_from_the_start():
    schedule = defs.resolve_schedule_def("symbols_daily")
    assert (schedule.cron_schedule, schedule.default_status) == ("0 0 * * *", dg.DefaultScheduleStatus.RUNNING)
    job = defs.resolve_job_def(schedule.job_name)
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == {"exchange_info", "clickhouse_symbols"}
