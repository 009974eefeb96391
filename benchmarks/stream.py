"""The live stream: close → queryable latency, the process's CPU and memory, healing a disconnect.

    uv run --locked python benchmarks/stream.py                      # everything, defaults below
    uv run --locked python benchmarks/stream.py --only latency --minutes 120
    uv run --locked python benchmarks/stream.py --only cost --window 600   # the issue's 10 minutes
    uv run --locked python benchmarks/stream.py --only heal --outage 300   # a real 5-minute outage

Against the exchange stand-in on 127.0.0.1 (no network latency) and the embedded ClickHouse with
the stream inserting itself (the server shape: the stream is the only process opening chdb).

- latency (1 and 50 symbols): the stand-in's market clock moves one minute at a time, so every
  symbol's candle closes; per candle, from just before the close is pushed to the row being visible
  to a query (polled every ``--poll-ms`` from a second client in the same process: polling chdb
  faster slows its inserts down), and the stream's own arrival → written.
- cost (50 symbols): ``binance-assets stream`` as a process against a real-time market (an update
  of every symbol every 2 s, as Binance sends them, closes at each minute); CPU and RSS from /proc.
- heal (1 and 50 symbols): the stream is cut and refused while the market moves 5 minutes; the
  refusal lasts ``--outage`` seconds of real time (the reconnect backoff is at its 10 s cap after
  about 25 s, so what follows a longer outage is the same); from the stream being reachable again
  to every missed candle queryable: the reconnect wait, then the REST fill and its write.
"""

import argparse
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import clickhouse_connect  # noqa: E402

from binance_assets_tests.harness import (  # noqa: E402  the in-process runner the tests use
    BINANCE_ASSETS,
    FIRST_LIVE_CANDLE,
    MINUTE,
    STREAM_START_MS,
    LiveStream,
    Pipeline,
    live_edge,
    move_market,
    open_live_market,
    wait_for,
)
from binance_stand_in import ExchangeStandIn  # noqa: E402

FIRST = FIRST_LIVE_CANDLE


def symbols(count: int) -> list[str]:
    return (["BTCUSDT", "ETHUSDT"] + [f"X{i:02d}USDT" for i in range(count)])[:count]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary(values: list[float]) -> str:
    return (
        f"p50 {statistics.median(values):7.1f} ms  p99 {percentile(values, 0.99):7.1f} ms  "
        f"max {max(values):7.1f} ms  ({len(values)} candles)"
    )


def stream_in_process(names: list[str], root: Path):
    stand_in = ExchangeStandIn(symbols=tuple(names), now_ms=STREAM_START_MS).start()
    pipeline = Pipeline(stand_in, root)
    open_live_market(pipeline)
    pipeline.symbols = ",".join(names)
    return stand_in, pipeline


def latency(count: int, minutes: int, poll_s: float) -> None:
    names = symbols(count)
    with tempfile.TemporaryDirectory(prefix="stream-bench-") as tmp:
        stand_in, pipeline = stream_in_process(names, Path(tmp))
        visible_after: list[float] = []
        try:
            with LiveStream(pipeline) as stream:
                reader = clickhouse_connect.get_client(dsn=pipeline.clickhouse_url)
                for minute in range(minutes):
                    open_time = FIRST + minute * MINUTE
                    seen: dict[str, float] = {}
                    started = time.perf_counter()
                    move_market(stand_in, MINUTE)  # every symbol's candle of open_time closes
                    while len(seen) < count:
                        rows = reader.query(
                            "SELECT trading_pair FROM binance.klines "
                            "WHERE open_time = fromUnixTimestamp64Milli({t:Int64}, 'UTC')",
                            parameters={"t": open_time},
                        ).result_rows
                        now = time.perf_counter()
                        for (symbol,) in rows:
                            seen.setdefault(symbol, now)
                        time.sleep(poll_s)
                    visible_after += [(t - started) * 1000 for t in seen.values()]
                    time.sleep(1.0)  # batches are written at most once a second: one minute per batch
                reader.close()
                written = list(stream.service._write_lags)
        finally:
            stand_in.stop()
    print(f"  {count:>2} symbol(s), close pushed → row visible:  {summary(visible_after)}")
    print(f"  {count:>2} symbol(s), arrival → written (stream): {summary(written)}")


def proc_sample(pid: int) -> tuple[float, int]:
    """CPU seconds (user + system) and RSS bytes of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    rss_kb = next(
        int(line.split()[1])
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmRSS")
    )
    return cpu, rss_kb * 1024


def cost(count: int, window_s: float, load: str) -> None:
    names = symbols(count)
    with tempfile.TemporaryDirectory(prefix="stream-bench-") as tmp, ExchangeStandIn(symbols=tuple(names)) as stand_in:
        env = {
            **os.environ,
            "BINANCE_API_URL": stand_in.url,
            "BINANCE_STREAM_URL": stand_in.stream_url,
            "BINANCE_SYMBOLS": ",".join(names),
            "LAKE_URL": f"{tmp}/lake",
            "CLICKHOUSE_URL": f"chdb://{tmp}/clickhouse",
        }
        log = Path(tmp) / "stream.log"
        with log.open("w") as err:
            process = subprocess.Popen([BINANCE_ASSETS, "stream", "--load", load], env=env, stderr=err)
            try:
                wait_for(lambda: stand_in.stream_connections == 1, "the stream to connect", timeout=60)
                time.sleep(5)  # past start-up
                first_cpu, _ = proc_sample(process.pid)
                started = time.monotonic()
                samples = []
                while time.monotonic() - started < window_s:
                    time.sleep(5)
                    samples.append(proc_sample(process.pid))
                elapsed = time.monotonic() - started
            finally:
                process.send_signal(signal.SIGTERM)
                code = process.wait(60)
        cpu_s = samples[-1][0] - first_cpu
        rss = [r for _, r in samples]
        written = [line for line in log.read_text().splitlines() if "Wrote" in line]
        print(
            f"  {count} symbols, --load {load}, {elapsed:.0f} s window: CPU {cpu_s:.2f} s = {100 * cpu_s / elapsed:.2f} % of one core; "
            f"RSS start {rss[0] / 2**20:.0f} MiB, peak {max(rss) / 2**20:.0f} MiB, end {rss[-1] / 2**20:.0f} MiB; "
            f"{stand_in.stream_messages_sent:,} messages received, {len(written)} batches written, exit {code}"
        )
        for line in written[-3:]:
            print(f"    {line.split('binance_assets.stream: ', 1)[-1]}")


def heal(count: int, outage_s: float) -> None:
    names = symbols(count)
    with tempfile.TemporaryDirectory(prefix="stream-bench-") as tmp:
        stand_in, pipeline = stream_in_process(names, Path(tmp))
        try:
            with LiveStream(pipeline, backoff_initial_s=0.5, backoff_max_s=10.0) as stream:
                move_market(stand_in, MINUTE)
                stream.wait_for_edge(FIRST)
                stand_in.pause_stream(None)  # cut, then refuse (503) until resumed
                move_market(stand_in, 5 * MINUTE)  # five candles of every symbol close meanwhile
                time.sleep(outage_s)
                move_market(stand_in, 0)  # the exchange's clock back at the (frozen) market's
                stand_in.resume_stream()
                reachable = time.perf_counter()
                wait_for(lambda: stand_in.stream_connections == 1, "the reconnection", timeout=60, interval=0.005)
                connected = time.perf_counter()
                stream.wait_for_edge(FIRST + 5 * MINUTE)
                healed = time.perf_counter()
                assert all(t == FIRST + 5 * MINUTE for t in live_edge(pipeline.lake_url).values())
        finally:
            stand_in.stop()
    print(
        f"  {count:>2} symbol(s), {outage_s:.0f} s refused, 5 minutes missed: healed {healed - reachable:.2f} s after "
        f"the stream was reachable (reconnect wait {connected - reachable:.2f} s, REST fill + write "
        f"{healed - connected:.2f} s)"
    )


def main() -> None:
    logging.getLogger("binance_assets").setLevel(logging.ERROR)  # the retries while refused are expected
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["latency", "cost", "heal"])
    parser.add_argument("--minutes", type=int, default=60, help="closes per latency run (default 60)")
    parser.add_argument(
        "--poll-ms",
        type=float,
        default=20,
        help="how often the reader queries (default 20; more often slows chdb down)",
    )
    parser.add_argument("--window", type=float, default=180, help="seconds of CPU/RSS sampling (default 180)")
    parser.add_argument("--outage", type=float, default=30, help="seconds the stream refuses connections (30)")
    args = parser.parse_args()
    if args.only in (None, "latency"):
        print("Close → queryable (in-process stream, direct inserts into chdb):")
        for count in (1, 50):
            latency(count, args.minutes, args.poll_ms / 1000)
    if args.only in (None, "cost"):
        print("Stream process cost (real-time market, updates every 2 s):")
        cost(50, args.window, "direct")  # the ClickHouse engine (chdb) runs inside the process
        cost(50, args.window, "lake")  # no engine in the process, as when inserting into a server
    if args.only in (None, "heal"):
        print("Healing a 5-minute disconnect:")
        for count in (1, 50):
            heal(count, args.outage)


if __name__ == "__main__":
    main()
