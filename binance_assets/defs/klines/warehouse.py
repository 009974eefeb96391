"""``clickhouse_klines``: the clean candles in ``{db}.klines``."""

from binance_assets.defs.klines.dataset import KLINES
from binance_assets.lib.coverage import warehouse_coverage
from binance_assets.lib.load import hourly_load

clickhouse_klines = hourly_load(
    KLINES, "{CLICKHOUSE_DATABASE}.klines: ReplacingMergeTree(fetched_at) ordered by (trading_pair, open_time)."
)

klines_warehouse_coverage = warehouse_coverage(KLINES, clickhouse_klines)
