"""``binance-assets``: operator commands beside Dagster's own CLI.

    binance-assets setup         create the bucket, queues, notification and ClickHouse schema if missing
    binance-assets launch        check --partition / --partition-range, then `dg launch` the klines group
    binance-assets stream        closed 1-minute candles from Binance's websocket into the lake and ClickHouse
    binance-assets reclaim       clean up crashed runs: mark them failed and free the pool slots they hold

Configuration comes from the same environment variables as the code location (README: Configuration).
"""

import argparse
import json
import os
import sys
from contextlib import ExitStack
from pathlib import Path

from binance_assets import settings
from binance_assets.errors import NotRetryable
from binance_assets.lib.partitions import hourly_partitions, hours_between, partition_hour, split_range
from binance_assets.lib.runs.executor import IN_PROCESS_RUN_CONFIG
from binance_assets.resources import build_resources
from binance_assets.resources.clickhouse import redact
from binance_assets.resources.lake.stores import S3Store
from binance_assets.setup import EXISTS, SKIPPED, Step, setup_lake, setup_warehouse
from binance_assets.stream import process as live


def setup(args: argparse.Namespace) -> int:
    # Imported here: `launch` answers a bad partition without loading boto3, chdb and polars.

    resources = build_resources(settings.current())
    steps: list[Step] = []

    def report(step: Step) -> None:
        steps.append(step)
        print(step, flush=True)

    with ExitStack() as stack:
        # Resolve EnvVar settings exactly as Dagster does for the code location.
        lake = stack.enter_context(resources["lake"].process_config_and_initialize_cm())
        queue = stack.enter_context(resources["notifications"].process_config_and_initialize_cm())
        warehouse = stack.enter_context(resources["warehouse"].process_config_and_initialize_cm())
        store = lake.store
        if isinstance(store, S3Store):
            for step in setup_lake(store, queue):
                report(step)
        else:
            report(Step(SKIPPED, f"S3 bucket, SQS queues and notification: the lake {store.uri('')} is local"))
        print(f"ClickHouse at {redact(warehouse.dsn)}:", flush=True)
        for step in setup_warehouse(warehouse):
            report(step)
    changed = sum(s.outcome not in (EXISTS, SKIPPED) for s in steps)
    print(f"setup complete: {changed} change(s)" if changed else "setup complete: everything already existed")
    return 0


DEFAULT_SELECTION = "group:klines"


def launch(args: argparse.Namespace, dg_args: list[str]) -> int:
    """Refuse a bad partition before any run exists, then hand over to `dg launch`.

    `dg launch --assets` runs Dagster's `asset materialize`, which checks each key itself but names
    only the range's start key when either end is bad, and creates a run for a reversed range;
    here every case is one line naming the value."""
    if args.partition and args.partition_range:
        raise NotRetryable("Give --partition or --partition-range, not both.")
    if args.partition_range:
        hours_between(*split_range(args.partition_range))
        partition = ["--partition-range", args.partition_range]
    else:
        key = args.partition or hourly_partitions.get_last_partition_key()
        partition_hour(key)
        partition = ["--partition", key]
        if not any(arg.startswith("--config") for arg in dg_args):
            # One hour's steps follow one another: one process runs them (half the time of a process per
            # step). A range keeps a process per step, so its steps overlap on several cores.
            partition += ["--config-json", json.dumps(IN_PROCESS_RUN_CONFIG)]
    dg = str(Path(sys.executable).parent / "dg")
    os.execv(dg, [dg, "launch", "--assets", DEFAULT_SELECTION, *partition, *dg_args])  # a later --assets wins


def stream(args: argparse.Namespace, _unused: list[str]) -> int:
    return live.run(
        load=args.load, batch_wait_s=args.batch_wait, rotate_after_s=args.rotate_after, verbose=args.verbose
    )


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return value


def reclaim(args: argparse.Namespace, _unused: list[str]) -> int:
    import dagster as dg

    from binance_assets.lib.runs.crashed import CrashedRuns

    with dg.DagsterInstance.get() as instance:
        crashed = CrashedRuns(instance)
        cleanups = [crashed.forget(args.run_id)] if args.run_id else crashed.sweep()
        for cleanup in cleanups:
            print(cleanup.sentence(), flush=True)
        if not cleanups:
            print("Nothing to clean up: no crashed run on this machine holds a run or a pool slot.")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="binance-assets", description=__doc__.split("\n\n")[0])
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "setup",
        help="create the S3 bucket, SQS queue + DLQ, bucket notification and ClickHouse schema if missing",
        description=(
            "Idempotent: creates what is missing and reports what already existed. "
            "Reads LAKE_URL, AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
            "SQS_QUEUE_NAME, SQS_DLQ_NAME, CLICKHOUSE_URL and CLICKHOUSE_DATABASE."
        ),
    ).set_defaults(run=lambda args, _: setup(args))
    run = commands.add_parser(
        "launch",
        allow_abbrev=False,
        help="check the partition arguments, then `dg launch` them (default: group:klines, the last complete UTC hour)",
        description="Any other argument goes to `dg launch` (e.g. --assets, --config-json).",
    )
    run.add_argument("--partition", help="one hour, YYYY-MM-DD-HH:00 (UTC)")
    run.add_argument("--partition-range", help="START...END, both included, e.g. 2024-03-01-00:00...2024-03-01-23:00")
    run.set_defaults(run=launch, passes_arguments=True)
    streaming = commands.add_parser(
        "stream",
        help="stream closed 1-minute candles from Binance's websocket into the lake and ClickHouse (until SIGTERM)",
        description=(
            "One combined websocket connection for every BINANCE_SYMBOLS entry at BINANCE_STREAM_URL. Each closed "
            "candle is written within about a second to raw/klines_stream in the lake and, on a ClickHouse server, "
            "to {CLICKHOUSE_DATABASE}.klines (source 'stream'); the hourly batch's rows later replace them. After "
            "any disconnect the missed candles are filled from REST (BINANCE_API_URL) first. SIGTERM writes what "
            "is held and exits 0; exit 1: candles could not be fetched or written (a restart fills the gap); "
            "exit 2: bad configuration."
        ),
    )
    streaming.add_argument(
        "--load",
        choices=live.LOAD_MODES,
        default=live.AUTO,
        help="direct: insert into ClickHouse; lake: write the lake only (the klines_stream_loads sensor loads it); "
        "auto (default): direct on a ClickHouse server, lake on the embedded chdb, which Dagster runs open",
    )
    streaming.add_argument(
        "--batch-wait",
        type=_positive,
        default=live.BATCH_WAIT_S,
        metavar="SECONDS",
        help="how long a closed candle waits for the other symbols' before its batch is written (default 0.2; "
        "batches are written at most once a second)",
    )
    streaming.add_argument(
        "--rotate-after",
        type=_positive,
        default=live.ROTATE_AFTER_S,
        metavar="SECONDS",
        help="replace the connection after this long (default 84600: before Binance's 24-hour limit)",
    )
    streaming.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    streaming.set_defaults(run=stream)
    reclaim_parser = commands.add_parser(
        "reclaim",
        help="clean up crashed runs: mark them failed, stop their orphaned steps, free their pool slots",
        description=(
            "Every run does this by itself when it starts (and while it waits for a pool slot); this is the "
            "same clean-up without starting a run. Without --run: runs recorded on this machine whose process "
            "is gone. With --run: that run, wherever it ran, once you know it no longer runs. Uses the Dagster "
            "instance in DAGSTER_HOME."
        ),
    )
    reclaim_parser.add_argument(
        "--run", dest="run_id", metavar="RUN_ID", help="mark this unfinished run failed and free its slots"
    )
    reclaim_parser.set_defaults(run=reclaim)
    return root


def main(argv: list[str] | None = None) -> int:
    root = parser()
    args, unknown = root.parse_known_args(argv)
    if unknown and not getattr(args, "passes_arguments", False):
        root.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return args.run(args, unknown)
    except NotRetryable as error:
        print(f"binance-assets {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
