"""The warehouse resource: ClickHouse through clickhouse-connect, embedded (chdb) or a server.

Datasets hand it their ``Table`` (name and DDL); it knows no dataset itself.
"""

import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import PrivateAttr

from binance_assets.errors import ConfigurationError
from binance_assets.settings import DEFAULTS, embedded_clickhouse_url

if TYPE_CHECKING:
    import pyarrow as pa

INSERT_BATCH_ROWS = 250_000


@dataclass(frozen=True)
class Table:
    """A warehouse table: its name, ``CREATE TABLE IF NOT EXISTS {database}.name`` statement, and the
    idempotent statements that bring a table created by an older version up to date."""

    name: str
    ddl: str
    migrations: tuple[str, ...] = ()


def redact(url: str) -> str:
    """The URL without its password, for messages and metadata."""
    return re.sub(r"(//[^:/@]+:)[^@]*@", r"\1***@", url)


class ClickHouseWarehouse(dg.ConfigurableResource):
    """ClickHouse at ``CLICKHOUSE_URL`` (``chdb:///abs/path`` embedded, or ``http(s)://user:pass@host:port``)."""

    url: str = ""
    database: str = DEFAULTS["CLICKHOUSE_DATABASE"]

    _client: Any = PrivateAttr(default=None)  # a clickhouse_connect Client, opened on first use
    _ensured: set[str] = PrivateAttr(default_factory=set)
    _log: logging.Logger = PrivateAttr(default_factory=lambda: logging.getLogger("binance_assets.warehouse"))

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if context.log is not None:
            self._log = context.log

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()

    @property
    def dsn(self) -> str:
        return self.url or embedded_clickhouse_url()

    @property
    def client(self) -> Any:
        if self._client is None:
            import clickhouse_connect  # with chdb behind it: imported by the steps that open the warehouse

            try:
                self._client = clickhouse_connect.get_client(dsn=self.dsn)
            except Exception as error:  # clickhouse-connect raises several types; all mean "cannot open"
                hint = (
                    "Another process holds the embedded ClickHouse at this path (a running `dagster dev`?): "
                    "stop it, or point CLICKHOUSE_URL at a ClickHouse server."
                    if "lock" in str(error).lower() or "already initialized" in str(error)
                    else "Check CLICKHOUSE_URL (chdb:///abs/path or http://user:password@host:8123)."
                )
                raise ConfigurationError(f"Cannot open ClickHouse at {redact(self.dsn)}: {hint}") from None
        return self._client

    @contextmanager
    def session(self) -> Iterator["ClickHouseWarehouse"]:
        """The warehouse for one step's work, released when it ends.

        The embedded engine admits one process at a time and the ``clickhouse`` pool admits one
        step: a step must not hold the engine past its own end, even when its process lives on
        (the in-process executor runs every step of a run in one process)."""
        try:
            yield self
        finally:
            self.close()

    def close(self) -> None:
        # chdb allows one open path per process: release it so the next run (or test) can open one.
        if self._client is not None:
            self._client.close()
            self._client = None
            self._ensured = set()

    def database_exists(self) -> bool:
        rows = self.client.query(
            "SELECT count() FROM system.databases WHERE name = {db:String}", parameters={"db": self.database}
        ).result_rows
        return bool(rows[0][0])

    def ensure_tables(self, tables: Iterable[Table]) -> list[str]:
        """Create the database and any of ``tables`` that is missing, and bring existing ones up to date
        (once per resource); returns the names created."""
        tables = [table for table in tables if table.name not in self._ensured]
        if not tables:
            return []
        self.client.command(f"CREATE DATABASE IF NOT EXISTS {self.database}")
        existing = {
            row[0]
            for row in self.client.query(
                "SELECT name FROM system.tables WHERE database = {db:String}", parameters={"db": self.database}
            ).result_rows
        }
        created = []
        for table in tables:
            if table.name not in existing:
                self.client.command(table.ddl.format(database=self.database))
                created.append(table.name)
            else:
                for statement in table.migrations:
                    self.client.command(statement.format(database=self.database))
            self._ensured.add(table.name)
        return created

    def insert(self, table: str, data: "pa.Table") -> int:
        """Insert in bounded batches; a retried batch only adds versions ReplacingMergeTree collapses."""
        for offset in range(0, data.num_rows, INSERT_BATCH_ROWS):
            self.client.insert_arrow(f"{self.database}.{table}", data.slice(offset, INSERT_BATCH_ROWS))
        return data.num_rows

    def query(self, sql: str, **parameters) -> list[tuple]:
        return self.client.query(sql.replace("{database}", self.database), parameters=parameters).result_rows
