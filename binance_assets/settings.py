"""Every environment variable binance_assets reads, read here and nowhere else.

``current()`` reads them all at once (again only when the environment changed, as in tests) and
checks each value where the definitions need it, with an error naming the variable and the fix.
Resources get a setting as ``dg.EnvVar`` when the variable is set, so the UI shows *which*
variable configured a resource without ever showing its value; unset means the embedded default.
"""

import re
from dataclasses import dataclass, field
from functools import lru_cache
from os import environ
from pathlib import Path

import dagster as dg

from binance_assets.errors import ConfigurationError

DEFAULTS: dict[str, str] = {
    "BINANCE_API_URL": "https://api.binance.com",
    # Websocket market streams (`binance-assets stream`); wss://data-stream.binance.vision serves market data too.
    "BINANCE_STREAM_URL": "wss://stream.binance.com:9443",
    "BINANCE_ARCHIVE_URL": "https://data.binance.vision",
    "KLINES_SOURCE": "auto",
    "BINANCE_SYMBOLS": "BTCUSDT",
    "BINANCE_TESTNET": "0",
    "LAKE_URL": "./data/lake",
    "CLICKHOUSE_DATABASE": "binance",
    "PARTITIONS_START": "2024-01-01-00:00",
    "ORDER_BOOK_DEPTH_LIMIT": "100",
    "ORDER_BOOK_SNAPSHOT_CRON": "*/5 * * * *",
    "SYMBOLS_REFRESH_CRON": "0 0 * * *",
    "SQS_QUEUE_NAME": "klines-notifications",
    "SQS_DLQ_NAME": "klines-notifications-dlq",
    "SCHEDULES_ENABLED": "false",
}
# Read only as ``dg.EnvVar`` (never their values): secrets, and what boto3 would read by itself.
PASSED_THROUGH = (
    "BINANCE_API_KEY",
    "BINANCE_API_SECRET",
    "CLICKHOUSE_URL",
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)
VARIABLES = (*DEFAULTS, *PASSED_THROUGH)

DEFAULT_CLICKHOUSE_DIR = "./data/clickhouse"
TESTNET_API_URL = "https://testnet.binance.vision"
TESTNET_STREAM_URL = "wss://stream.testnet.binance.vision"
PARTITION_FORMAT = "%Y-%m-%d-%H:%M"
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")
# Where raw_klines takes candles from: the bulk archive where it has them, else REST (auto); REST only;
# the archive only.
KLINES_SOURCES = ("auto", "rest", "archive")
# Binance's own rule for symbol text (it answers -1100 to anything else).
SYMBOL_PATTERN = re.compile(r"^[A-Z0-9\-_.]{1,20}$")
SYMBOL_FORMAT = (
    "Binance symbols are 1–20 characters of A–Z, 0–9, '-', '_' or '.', with no separator between the assets: "
    "BTCUSDT, not BTC/USDT or BTC-USDT; list several with commas (BTCUSDT,ETHUSDT)."
)


def embedded_clickhouse_url(directory: str = DEFAULT_CLICKHOUSE_DIR) -> str:
    return f"chdb://{Path(directory).resolve()}"


def is_s3_url(url: str) -> bool:
    return url.startswith("s3://")


def parse_symbols(text: str, variable: str = "BINANCE_SYMBOLS") -> list[str]:
    """Comma-separated symbols, upper-cased; text the exchange would refuse fails here, before any request."""
    symbols = [s.strip().upper() for s in text.split(",") if s.strip()]
    if not symbols:
        raise ConfigurationError(f"{variable} is empty: set it to exchange symbols such as BTCUSDT,ETHUSDT.")
    illegal = [s for s in symbols if not SYMBOL_PATTERN.match(s)]
    if illegal:
        raise ConfigurationError(
            f"{variable}={text!r}: {', '.join(map(repr, illegal))} is not an exchange symbol. {SYMBOL_FORMAT}"
        )
    return symbols


def parse_klines_source(value: str) -> str:
    """``KLINES_SOURCE`` as one of ``KLINES_SOURCES``, or an error naming the choices."""
    source = value.strip().lower()
    if source not in KLINES_SOURCES:
        raise ConfigurationError(
            f"KLINES_SOURCE={value!r} is not a klines source: set auto (the bulk archive for every published "
            "month and day, REST for the rest; the default), rest (REST only) or archive (the archive only; "
            "a file it lacks is an error)."
        )
    return source


@dataclass(frozen=True)
class Settings:
    """One reading of the environment: the variables in ``VARIABLES`` that are set (blank = unset)."""

    values: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str:
        """The variable's value, else its embedded default."""
        return self.values.get(name) or DEFAULTS[name]

    def is_set(self, name: str) -> bool:
        return name in self.values

    def for_resource(self, name: str, default: str | None = None) -> "str | dg.EnvVar":
        """``EnvVar(name)`` when set (the UI shows the name, never the value), else the default."""
        return dg.EnvVar(name) if self.is_set(name) else (default if default is not None else DEFAULTS[name])

    def int_for_resource(self, name: str) -> "int | dg.IntEnvVar":
        if not self.is_set(name):
            return int(DEFAULTS[name])
        if not re.fullmatch(r"-?\d+", self.values[name]):
            raise ConfigurationError(f"{name}={self.values[name]!r} is not a whole number: set e.g. {DEFAULTS[name]}.")
        return dg.EnvVar.int(name)

    def first_set(self, *names: str) -> "dg.EnvVar | None":
        """``EnvVar`` of the first of ``names`` that is set, else None (the library's own default)."""
        return next((dg.EnvVar(name) for name in names if self.is_set(name)), None)

    @property
    def warehouse_is_embedded(self) -> bool:
        """True when ClickHouse is the in-process chdb engine (the default), which one process opens at a time.
        Only the URL's scheme is read: the URL itself may hold a password."""
        return self.values.get("CLICKHOUSE_URL", "chdb:").startswith("chdb:")

    @property
    def lake_url(self) -> str:
        return self.get("LAKE_URL")

    @property
    def lake_on_s3(self) -> bool:
        return is_s3_url(self.lake_url)

    @property
    def partitions_start(self) -> str:
        from datetime import datetime

        value = self.get("PARTITIONS_START")
        try:
            start = datetime.strptime(value, PARTITION_FORMAT)
        except ValueError:
            start = None
        if start is None or start.minute:
            raise ConfigurationError(
                f"PARTITIONS_START={value!r} is not an hour: partitions are hourly (UTC), set YYYY-MM-DD-HH:00, "
                f"for example {DEFAULTS['PARTITIONS_START']}."
            )
        return value

    @property
    def klines_source(self) -> str:
        return parse_klines_source(self.get("KLINES_SOURCE"))

    def cron(self, name: str) -> str:
        """A schedule's cron string, validated by Dagster's own rule for schedules."""
        from dagster._utils.schedules import is_valid_cron_string

        value = self.get(name)
        if not is_valid_cron_string(value):
            raise ConfigurationError(
                f"{name}={value!r} is not a 5-field cron expression (minute hour day month weekday): "
                f"set e.g. {DEFAULTS[name]!r}."
            )
        return value

    def flag(self, name: str) -> bool:
        value = self.get(name).lower()
        if value not in TRUE_WORDS + FALSE_WORDS:
            raise ConfigurationError(f"{name}={value!r} is not a yes/no value: set it to true or false.")
        return value in TRUE_WORDS


@lru_cache(maxsize=4)
def _read(snapshot: tuple[tuple[str, str], ...]) -> Settings:
    return Settings(dict(snapshot))


def current() -> Settings:
    """The settings as the process's environment holds them now."""
    return _read(tuple((name, environ[name].strip()) for name in VARIABLES if environ.get(name, "").strip()))


class TrackedSymbols(dg.ConfigurableResource):
    """The symbols every dataset covers (``BINANCE_SYMBOLS``): a resource, so each run records
    which variable chose them, and one place that checks their spelling before any request."""

    symbols: str = DEFAULTS["BINANCE_SYMBOLS"]

    @property
    def names(self) -> list[str]:
        return parse_symbols(self.symbols)
