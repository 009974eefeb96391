"""Query the configured warehouse: ``uv run python -m binance_assets.warehouse "SELECT ..."``.

Uses the same CLICKHOUSE_URL / CLICKHOUSE_DATABASE as the pipeline (``{database}`` in the SQL is
replaced by the database name), so the embedded chdb warehouse can be read without a server.
"""

import sys

from binance_assets import settings
from binance_assets.errors import NotRetryable, Transient
from binance_assets.resources import build_resources


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    # Resolve EnvVar-configured fields the way Dagster does for a run.
    with build_resources(settings.current())["warehouse"].process_config_and_initialize_cm() as warehouse:
        try:
            result = warehouse.client.query(argv[0].replace("{database}", warehouse.database))
        except (NotRetryable, Transient) as error:  # e.g. a running load holds the embedded ClickHouse
            print(f"binance_assets.warehouse: {error}", file=sys.stderr)
            return 1
        print("\t".join(result.column_names))
        for row in result.result_rows:
            print("\t".join(str(value) for value in row))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
