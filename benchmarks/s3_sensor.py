"""The S3 sensor with the real Dagster daemon against moto server: how fast a backlog of notifications
drains, and how soon one file's rows are queryable after its PUT.

    uv run --locked python benchmarks/s3_sensor.py                      # 720 notifications, then 3 single files
    uv run --locked python benchmarks/s3_sensor.py --hours 168 --single 5

Set-up (not timed): moto server (S3 + SQS) in its own process, ``binance-assets setup`` (bucket,
queues, notification), and the hours' raw and clean files written by the real pipeline to a staging
prefix the notification does not watch. Then, as an external producer following the lake's rule
(data first, ``_SUCCESS`` last), the files are copied into the lake: one notification per clean
Parquet file. Timed:

- drain: ``dagster-daemon run`` is started on the backlog; until the queue is empty and every hour's
  ``clickhouse_klines`` is materialised (from the daemon's start, and from the sensor's first tick);
- PUT → rows: with the daemon running and the queue empty, one more hour is copied in; from its
  Parquet PUT until its ``clickhouse_klines`` materialisation (recorded once its rows are inserted).

Every figure is verified: ClickHouse holds each candle once, and the number of load runs is shown.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import boto3  # noqa: E402

from binance_stand_in import ExchangeStandIn  # noqa: E402

BIN = Path(sys.executable).parent
BUCKET, LAKE, STAGING = "crypto", "lake", "staging"
FIRST_HOUR = datetime(2024, 1, 1, tzinfo=UTC)
FORMAT = "%Y-%m-%d-%H:%M"
IN_PROCESS = "execution: {config: {in_process: {}}}"
POLL_S = 0.5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(POLL_S)
    raise TimeoutError(f"gave up waiting for {what} after {timeout_s:.0f} s")


class Bench:
    def __init__(self, work: Path, stand_in: ExchangeStandIn, endpoint: str, hours: int):
        self.work = work
        self.last_hour = FIRST_HOUR + timedelta(hours=hours - 1)
        self.env = {
            **os.environ,
            "DAGSTER_HOME": str(work / "dagster_home"),
            "BINANCE_API_URL": stand_in.url,
            "BINANCE_ARCHIVE_URL": stand_in.archive_url,
            "BINANCE_SYMBOLS": "BTCUSDT",
            "LAKE_URL": f"s3://{BUCKET}/{LAKE}",
            "CLICKHOUSE_URL": f"chdb://{work / 'clickhouse'}",
            "PARTITIONS_START": FIRST_HOUR.strftime(FORMAT),
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_REGION": "eu-west-1",
            "AWS_DEFAULT_REGION": "eu-west-1",
        }
        for home in ("dagster_home", "staging_home"):
            (work / home).mkdir()
            shutil.copy(REPO / "dagster.yaml", work / home / "dagster.yaml")
        credentials = dict(aws_access_key_id="bench", aws_secret_access_key="bench", region_name="eu-west-1")
        self.s3 = boto3.client("s3", endpoint_url=endpoint, **credentials)
        self.sqs = boto3.client("sqs", endpoint_url=endpoint, **credentials)

    def run(self, command: list[str], **env) -> None:
        subprocess.run(command, cwd=REPO, env={**self.env, **env}, check=True, capture_output=True, text=True)

    def stage(self, last: datetime) -> None:
        """The pipeline writes raw and clean files of every hour under the staging prefix."""
        config = self.work / "in_process.yaml"
        config.write_text(IN_PROCESS)
        span = f"{FIRST_HOUR.strftime(FORMAT)}...{last.strftime(FORMAT)}"
        self.run(
            [str(BIN / "dagster"), "asset", "materialize", "-m", "binance_assets.definitions"]
            + ["--select", "raw_klines,klines_parquet", "--partition-range", span, "--config", str(config)],
            LAKE_URL=f"s3://{BUCKET}/{STAGING}",
            DAGSTER_HOME=str(self.work / "staging_home"),
        )

    def publish(self, hour: datetime) -> float:
        """Copy one hour into the lake as a producer must: raw, then the Parquet, then its _SUCCESS.
        Returns when the Parquet was PUT (the notification's trigger)."""
        folder = f"year={hour:%Y}/month={hour:%m}/day={hour:%d}/hour={hour:%H}"
        for zone, files in (("raw", ("klines.json", "_SUCCESS")), ("clean", ("klines.parquet", "_SUCCESS"))):
            for name in files:
                key = f"{zone}/klines/symbol=BTCUSDT/{folder}/{name}"
                if name.endswith(".parquet"):
                    put_at = time.time()
                self.s3.copy_object(
                    Bucket=BUCKET, Key=f"{LAKE}/{key}", CopySource={"Bucket": BUCKET, "Key": f"{STAGING}/{key}"}
                )
        return put_at

    def queue_depth(self) -> tuple[int, int]:
        url = self.sqs.get_queue_url(QueueName="klines-notifications")["QueueUrl"]
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


class Observer:
    """Reads the daemon's Dagster instance (SQLite: safe to read from another process)."""

    def __init__(self, home: Path):
        import dagster as dg

        self.dg = dg
        self.instance = dg.DagsterInstance.from_config(str(home))

    def loaded_hours(self) -> set[str]:
        return set(self.instance.get_materialized_partitions(self.dg.AssetKey("clickhouse_klines")))

    def load_runs(self) -> list:
        return self.instance.get_runs(filters=self.dg.RunsFilter(tags={"dagster/sensor_name": "s3_parquet_sensor"}))

    def first_tick(self) -> float | None:
        states = [s for s in self.instance.all_instigator_state() if s.name == "s3_parquet_sensor"]
        ticks = [t for s in states for t in self.instance.get_ticks(s.instigator_origin_id, s.selector_id)]
        return min((t.timestamp for t in ticks), default=None)

    def loaded_at(self, hour: str) -> float | None:
        records = self.instance.fetch_materializations(
            self.dg.AssetRecordsFilter(asset_key=self.dg.AssetKey("clickhouse_klines"), asset_partitions=[hour]),
            limit=1,
        ).records
        return records[0].timestamp if records else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=int, default=720, help="backlog size: hours (one notification each)")
    parser.add_argument("--single", type=int, default=3, help="single files timed from PUT to rows")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, lake, warehouse)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="binance-s3-bench-"))
    port = free_port()
    moto = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    daemon = None
    try:
        endpoint = f"http://127.0.0.1:{port}"
        wait_until(lambda: _reachable(port), 30, "moto server")
        now_ms = int((FIRST_HOUR + timedelta(hours=args.hours + args.single + 24)).timestamp() * 1000)
        with ExchangeStandIn(symbols=("BTCUSDT",), now_ms=now_ms) as stand_in:
            bench = Bench(work, stand_in, endpoint, args.hours)
            bench.run([str(BIN / "binance-assets"), "setup"])
            print(f"# staging {args.hours + args.single} hours …", flush=True)
            bench.stage(bench.last_hour + timedelta(hours=args.single))
            hours = [FIRST_HOUR + timedelta(hours=i) for i in range(args.hours)]
            for hour in hours:
                bench.publish(hour)
            queued = bench.queue_depth()
            print(f"# {queued[0]} notifications queued; starting the daemon", flush=True)

            # Its storage created before the daemon starts: two processes creating a SQLite instance race.
            observer = Observer(work / "dagster_home")
            log = (work / "daemon.log").open("w")
            started = time.time()
            daemon = subprocess.Popen(
                [str(BIN / "dagster-daemon"), "run", "-m", "binance_assets.definitions"],
                cwd=REPO,
                env=bench.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            wanted = {h.strftime(FORMAT) for h in hours}
            wait_until(lambda: bench.queue_depth() == (0, 0) and wanted <= observer.loaded_hours(), 1800, "the drain")
            drained_at = time.time()
            runs = observer.load_runs()
            drain = {
                "notifications": queued[0],
                "drain_s_from_daemon_start": round(drained_at - started, 1),
                "drain_s_from_first_tick": round(drained_at - observer.first_tick(), 1),
                "load_runs": len(runs),
                "run_statuses": sorted({r.status.value for r in runs}),
            }
            print(json.dumps(drain), flush=True)

            latencies = []
            for i in range(args.single):
                hour = bench.last_hour + timedelta(hours=i + 1)
                put_at = bench.publish(hour)
                key = hour.strftime(FORMAT)
                loaded_at = wait_until(lambda key=key: observer.loaded_at(key), 600, f"hour {key} to load")
                latencies.append(round(loaded_at - put_at, 1))
                print(json.dumps({"hour": key, "put_to_rows_s": latencies[-1]}), flush=True)
                time.sleep(2)
    finally:
        if daemon is not None:
            os.killpg(daemon.pid, signal.SIGTERM)
            daemon.wait(timeout=60)
        moto.terminate()
        moto.wait()

    rows = _clickhouse_rows(work)
    expected = 60 * (args.hours + args.single)
    print(
        "\n| notifications | drain from daemon start | drain from first tick | load runs | PUT → rows (each file) "
        "| ClickHouse rows (distinct) |\n|---|---|---|---|---|---|"
    )
    print(
        f"| {drain['notifications']} | {drain['drain_s_from_daemon_start']} s | {drain['drain_s_from_first_tick']} s "
        f"| {drain['load_runs']} | {', '.join(f'{s} s' for s in latencies)} | {rows[0]:,} ({rows[1]:,}); "
        f"{'ok' if list(rows) == [expected, expected] else f'{expected:,} expected'} |"
    )
    if args.keep:
        print(f"# kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


def _reachable(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _clickhouse_rows(work: Path) -> tuple[int, int]:
    import clickhouse_connect

    client = clickhouse_connect.get_client(dsn=f"chdb://{work / 'clickhouse'}")
    try:
        return client.query("SELECT count(), uniqExact(open_time) FROM binance.klines FINAL").result_rows[0]
    finally:
        client.close()


if __name__ == "__main__":
    main()
