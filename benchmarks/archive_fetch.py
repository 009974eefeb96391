"""The fetch alone: ``raw_klines`` over a range, from REST or from the bulk archive, in-process.

    uv run --locked python benchmarks/archive_fetch.py                          # 17 months, rest vs auto, 1 and 10 symbols
    uv run --locked python benchmarks/archive_fetch.py --ranges 30d --symbols 1

Each row is one in-process ``materialize`` of ``raw_klines`` (an ephemeral, in-memory Dagster
instance: no SQLite bookkeeping, which ``backfill.py`` measures through the CLI) into a fresh local
lake, against the exchange stand-in with ``--latency`` (default 50 ms) added to every answer, REST
and archive alike. It prints the raw step's own time, the whole call, REST kline requests, weight,
archive files and bytes downloaded, and checks that the raw lake holds every candle.
"""

import argparse
import json
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import dagster as dg  # noqa: E402

from benchmarks.backfill import FIRST_HOUR, RANGES, SYMBOLS, Case, market_now_ms  # noqa: E402
from binance_assets.defs.klines.raw import raw_klines  # noqa: E402
from binance_assets.lib.partitions import PARTITION_FORMAT  # noqa: E402
from binance_assets.resources.binance import BinanceArchive, BinanceExchange  # noqa: E402
from binance_assets.resources.lake import LakeResource  # noqa: E402
from binance_assets.settings import TrackedSymbols  # noqa: E402
from binance_stand_in import ExchangeStandIn  # noqa: E402


def fetch_once(range_name: str, case: Case) -> dict:
    last_hour = RANGES[range_name] - timedelta(hours=1)
    hours = int((last_hour - FIRST_HOUR) / timedelta(hours=1)) + 1
    now_ms = market_now_ms(last_hour)
    with (
        ExchangeStandIn(symbols=case.symbol_names, now_ms=now_ms, latency_s=case.latency_s) as stand_in,
        tempfile.TemporaryDirectory(prefix="binance-fetch-") as lake,
    ):
        resources = {
            "symbols": TrackedSymbols(symbols=",".join(case.symbol_names)),
            "exchange": BinanceExchange(api_url=stand_in.url),
            "archive": BinanceArchive(url=stand_in.archive_url, klines_source=case.source),
            "lake": LakeResource(url=lake),
        }
        started = time.perf_counter()
        result = dg.materialize(
            [raw_klines],
            resources=resources,
            instance=dg.DagsterInstance.ephemeral(),
            tags={
                "dagster/asset_partition_range_start": FIRST_HOUR.strftime(PARTITION_FORMAT),
                "dagster/asset_partition_range_end": last_hour.strftime(PARTITION_FORMAT),
            },
        )
        wall = time.perf_counter() - started
        metadata = {k: v.value for k, v in result.asset_materializations_for_node("raw_klines")[0].metadata.items()}
        candles = 60 * hours * case.symbols
        return {
            "range": range_name,
            "source": case.source,
            "symbols": case.symbols,
            "latency_s": case.latency_s,
            "hours": hours,
            "fetch_s": metadata["seconds"],
            "wall_s": round(wall, 1),
            "kline_requests": stand_in.count(path="/api/v3/klines"),
            "weight": sum(r.weight for r in stand_in.requests),
            "archive_files": metadata["archive_files_downloaded"],
            "archive_mb": round(metadata["archive_bytes_downloaded"] / 1e6, 1),
            "hours_by_source": metadata["hours_by_source"],
            "verified": "ok"
            if metadata["dagster/row_count"] == candles
            else f"{metadata['dagster/row_count']} candles",
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ranges", default="17m", help="comma-separated: 30d, 17m")
    parser.add_argument("--sources", default="rest,auto", help="comma-separated KLINES_SOURCE values")
    parser.add_argument("--symbols", default="1,10", help=f"comma-separated symbol counts (1–{len(SYMBOLS)})")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the stand-in adds to every answer")
    args = parser.parse_args()
    rows = []
    for range_name in args.ranges.split(","):
        for count in args.symbols.split(","):
            for source in args.sources.split(","):
                rows.append(fetch_once(range_name, Case(source, int(count), args.latency, fetch_only=True)))
                print(json.dumps(rows[-1]), flush=True)
    print(
        "\n| range | source | symbols | latency s | fetch s | whole call s | kline requests | weight | archive files "
        "| archive MB | hours by source | verified |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['range']} | {r['source']} | {r['symbols']} | {r['latency_s']} | {r['fetch_s']} | {r['wall_s']} "
            f"| {r['kline_requests']} | {r['weight']} | {r['archive_files']} | {r['archive_mb']} "
            f"| {r['hours_by_source']} | {r['verified']} |"
        )


if __name__ == "__main__":
    main()
