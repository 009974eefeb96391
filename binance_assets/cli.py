"""``binance-assets``: operator commands beside Dagster's own CLI.

    binance-assets setup   create the bucket, queues, notification and ClickHouse schema if missing

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
