"""DuckDB for the lake checks: an engine independent of the polars code that writes the Parquet.

duckdb is imported when a check connects, not with this module: every Dagster step process loads
the code location, and only the check steps query Parquet (dagster-duckdb's resource imports
duckdb with its module, in every process).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg
from pydantic import Field


class DuckDB(dg.ConfigurableResource):
    database: str = Field(default=":memory:", description="A DuckDB file, or :memory: (the checks keep nothing).")

    @contextmanager
    def get_connection(self) -> Iterator[Any]:
        import duckdb

        connection = duckdb.connect(self.database)
        try:
            yield connection
        finally:
            connection.close()
