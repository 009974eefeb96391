"""The warehouse resource: ClickHouse through clickhouse-connect, embedded (chdb) or a server.

Datasets hand it their ``Table`` (name and DDL); it knows no dataset itself.
"""

import fcntl
import logging
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import PrivateAttr

from binance_assets.errors import ConfigurationError, OutOfSpaceError, Transient
from binance_assets.settings import DEFAULTS, embedded_clickhouse_url

if TYPE_CHECKING:
    import pyarrow as pa

INSERT_BATCH_ROWS = 250_000
# ClickHouse error codes of a server that is busy for now: timeouts, too many queries or parts, memory.
BUSY_CODES = {159, 202, 209, 210, 241, 252}
NOT_ENOUGH_SPACE = 243


@dataclass(frozen=True)
class Table:
    """A warehouse table: its name, ``CREATE TABLE IF NOT EXISTS {database}.name`` statement, and the
    idempotent statements that bring a table created by an older version up to date."""

    name: str
    ddl: str
    migrations: tuple[str, ...] = ()


EMBEDDED = "chdb://"


def redact(url: str) -> str:
    """The URL without its password, for messages and metadata."""
    return re.sub(r"(//[^:/@]+:)[^@]*@", r"\1***@", url)


class WarehouseBusyError(Transient):
    """Another process holds the embedded ClickHouse: retried, and the hour is loaded again later."""


def error_code(error: Exception) -> int | None:
    code = re.search(r"Code: (\d+)", str(error))
    return int(code.group(1)) if code else None


def embedded_holder(path: Path) -> str | None:
    """Who holds the embedded ClickHouse at ``path`` ("pid 123 (python3)"), or None when nobody does.

    chdb, like clickhouse-server, keeps an exclusive ``flock`` on ``path/status`` while it is open and
    writes its PID there. Its own error says only "Code: 36 … BAD_ARGUMENTS" (the "Cannot lock file"
    text goes to stderr), so the lock is tested here: a shared lock is refused while a holder runs.
    """
    try:
        fd = os.open(path / "status", os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        status = os.read(fd, 4096).decode(errors="replace")
        pid = re.search(r"^PID: (\d+)", status, re.MULTILINE)
        return _process(int(pid.group(1))) if pid else "a process whose PID it did not record"
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _process(pid: int) -> str:
    """``pid N (name)``: the executable's name only, never its arguments (they may hold secrets)."""
    try:
        return f"pid {pid}, {Path(f'/proc/{pid}/comm').read_text().strip()}"
    except OSError:
        return f"pid {pid}"


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
    def embedded(self) -> bool:
        """The in-process chdb engine: one process may open its path at a time."""
        return self.dsn.startswith("chdb:")

    @property
    def client(self) -> Any:  # a clickhouse_connect Client
        if self._client is None:
            self._client = self._open()
        return self._client

    def _open(self) -> Any:
        import clickhouse_connect  # with chdb behind it: imported by the steps that open the warehouse

        path = self.embedded_path
        try:
            return clickhouse_connect.get_client(dsn=self.dsn)
        except Exception as error:  # clickhouse-connect raises several types; all mean "cannot open"
            cause = str(error)
        if path and "already initialized" not in cause and embedded_holder(path) is None:
            try:  # nobody holds it now: the holder may have left between chdb's refusal and our look
                return clickhouse_connect.get_client(dsn=self.dsn)
            except Exception as error:
                cause = str(error)
        holder = embedded_holder(path) if path else None
        if holder:
            raise WarehouseBusyError(
                f"Another process holds the embedded ClickHouse at {path} ({holder}): stop it or set CLICKHOUSE_URL "
                "to a ClickHouse server (chdb opens a path in one process at a time)."
            )
        if "already initialized" in cause:
            hint = (
                "this process already has another embedded ClickHouse path open and chdb opens one path per "
                "process: use one CLICKHOUSE_URL per process."
            )
        else:
            detail = re.search(r"EmbeddedServer: (.{3,200}?)(?:, Stack|$)", cause, re.DOTALL) if path else None
            hint = "Check CLICKHOUSE_URL (chdb:///abs/path or http://user:password@host:8123)" + (
                f": {detail.group(1).strip()}." if detail else "."
            )
        raise ConfigurationError(f"Cannot open ClickHouse at {redact(self.dsn)}: {hint}") from None

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

    @property
    def embedded_path(self) -> Path | None:
        return Path(self.dsn.removeprefix(EMBEDDED)) if self.dsn.startswith(EMBEDDED) else None

    @contextmanager
    def _calls(self) -> Iterator[None]:
        """Name what a busy or full warehouse needs; other errors pass as ClickHouse raised them."""
        from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

        try:
            yield
        except OperationalError as error:
            raise WarehouseBusyError(f"ClickHouse at {redact(self.dsn)} did not answer ({error}): retried.") from None
        except DatabaseError as error:
            code = error_code(error)
            if code == NOT_ENOUGH_SPACE:
                where = self.embedded_path
                free = f", {shutil.disk_usage(where).free / 2**20:,.1f} MiB free there" if where else ""
                raise OutOfSpaceError(
                    f"The warehouse at {where or redact(self.dsn)} (CLICKHOUSE_URL) is out of disk space{free} "
                    f"({str(error).splitlines()[0]}): free space on its disk or point CLICKHOUSE_URL at a larger one; "
                    "failed loads are requested again every 5 minutes."
                ) from None
            if code in BUSY_CODES:
                raise WarehouseBusyError(
                    f"ClickHouse at {redact(self.dsn)} is busy ({str(error).splitlines()[0]}): retried."
                ) from None
            raise

    def database_exists(self) -> bool:
        with self._calls():
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
        with self._calls():
            return self._create(tables)

    def _create(self, tables: list[Table]) -> list[str]:
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
        with self._calls():
            for offset in range(0, data.num_rows, INSERT_BATCH_ROWS):
                self.client.insert_arrow(f"{self.database}.{table}", data.slice(offset, INSERT_BATCH_ROWS))
        return data.num_rows

    def query(self, sql: str, **parameters) -> list[tuple]:
        with self._calls():
            return self.client.query(sql.replace("{database}", self.database), parameters=parameters).result_rows
