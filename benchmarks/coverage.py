"""What the warehouse-coverage report costs on a long lake, and what a busy warehouse costs to diagnose.

    uv run --locked python benchmarks/coverage.py                 # 17 months of hours, 1 and 5 symbols
    uv run --locked python benchmarks/coverage.py --hours 720     # 30 days

Builds a local lake holding only the clean ``_SUCCESS`` markers of every symbol-hour (what the
report lists) and an embedded ClickHouse holding one candle for all but 24 of those hours, then
times ``missing_from_warehouse`` (list the lake, one GROUP BY, a manifest read per absent hour) and
checks it found exactly the 24. Then a second process holds the warehouse and it times how long a
load takes to be refused with the holder named (chdb's refusal plus our lock test).
"""

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from binance_assets.defs.klines.dataset import KLINES  # noqa: E402
from binance_assets.lib.coverage import missing_from_warehouse  # noqa: E402
from binance_assets.resources.clickhouse import ClickHouseWarehouse, WarehouseBusyError  # noqa: E402
from binance_assets.resources.lake import LakeResource  # noqa: E402
from binance_assets.resources.lake.layout import clean_file, marker_for  # noqa: E402
from binance_assets_tests.harness import embedded_clickhouse_held  # noqa: E402

FIRST_HOUR = datetime(2024, 1, 1, tzinfo=UTC)
SYMBOLS = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT"]
MISSING = 24


def build(root: Path, hours: int, symbols: list[str]) -> tuple[LakeResource, ClickHouseWarehouse]:
    lake = LakeResource(url=str(root / "lake"))
    for symbol in symbols:
        for i in range(hours):
            path = root / "lake" / marker_for(clean_file(KLINES.name, symbol, FIRST_HOUR + timedelta(hours=i)))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"rows": 60}))
    warehouse = ClickHouseWarehouse(url=f"chdb://{root / 'clickhouse'}", database="binance")
    warehouse.ensure_tables([KLINES.table])
    loaded = hours - MISSING
    warehouse.client.command(
        f"INSERT INTO binance.klines (trading_pair, open_time, close_time, fetched_at) "
        f"SELECT arrayJoin({symbols}) AS s, toDateTime64('2024-01-01 00:00:00', 3, 'UTC') + toIntervalHour(number), "
        f"toDateTime64('2024-01-01 00:00:59.999', 3, 'UTC') + toIntervalHour(number), now64(3) FROM numbers({loaded})"
    )
    return lake, warehouse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=int, default=12_408, help="hours of lake (default: 17 months)")
    args = parser.parse_args()
    for count in (1, 5):
        symbols = SYMBOLS[:count]
        with tempfile.TemporaryDirectory(prefix="coverage-bench-") as tmp:
            lake, warehouse = build(Path(tmp), args.hours, symbols)
            started = time.perf_counter()
            missing, in_lake = missing_from_warehouse(lake, warehouse, KLINES, symbols)
            seconds = time.perf_counter() - started
            warehouse.close()
            assert in_lake == args.hours * count and len(missing) == MISSING * count, (in_lake, len(missing))
            print(
                f"coverage of {in_lake:,} symbol-hours ({count} symbol(s)): {seconds:.2f} s, "
                f"{len(missing)} missing found"
            )
    with tempfile.TemporaryDirectory(prefix="coverage-bench-") as tmp:
        url = f"chdb://{Path(tmp) / 'clickhouse'}"
        with embedded_clickhouse_held(url):
            started = time.perf_counter()
            try:
                ClickHouseWarehouse(url=url).ensure_tables([KLINES.table])
            except WarehouseBusyError as busy:
                print(f"busy warehouse refused in {time.perf_counter() - started:.3f} s: {str(busy)[:90]}…")


if __name__ == "__main__":
    main()
