"""DuckDB for the lake checks: an engine independent of the polars code that writes the Parquet.

Connections come from dagster-duckdb's ``DuckDBResource``, created when a check first connects:
``dagster_duckdb`` imports duckdb with its module, and every Dagster step process loads the code
location while only the check steps query Parquet, so the others never import duckdb.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import Field, PrivateAttr

if TYPE_CHECKING:
    from dagster_duckdb import DuckDBResource


class DuckDB(dg.ConfigurableResource):
    """dagster-duckdb's ``DuckDBResource`` with the same settings, made on first use."""

    database: str = Field(default=":memory:", description="A DuckDB file, or :memory: (the checks keep nothing).")
    connection_config: dict[str, Any] = Field(
        default_factory=dict, description="DuckDB configuration options (https://duckdb.org/docs/configuration)."
    )

    _resource: "DuckDBResource | None" = PrivateAttr(default=None)

    @property
    def resource(self) -> "DuckDBResource":
        if self._resource is None:
            from dagster_duckdb import DuckDBResource

            self._resource = DuckDBResource(database=self.database, connection_config=self.connection_config)
        return self._resource

    @contextmanager
    def get_connection(self) -> Iterator[Any]:
        with self.resource.get_connection() as connection:
            yield connection
