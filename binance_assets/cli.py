"""``binance-assets``: operator commands beside Dagster's own CLI.

    binance-assets setup     create the bucket, queues, notification and ClickHouse schema if missing
    binance-assets reclaim   clean up crashed runs: mark them failed and free the pool slots they hold

Configuration comes from the same environment variables as the code location (README: Configuration).
"""

import argparse
import sys
from contextlib import ExitStack

from binance_assets import settings
from binance_assets.errors import ConfigurationError
from binance_assets.resources import build_resources
from binance_assets.resources.clickhouse import redact
from binance_assets.resources.lake.stores import S3Store
from binance_assets.setup import EXISTS, SKIPPED, Step, setup_lake, setup_warehouse


def setup(args: argparse.Namespace) -> int:
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


def reclaim(args: argparse.Namespace) -> int:
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
    ).set_defaults(run=setup)
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
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except ConfigurationError as error:
        print(f"binance-assets {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
