"""Environment-driven settings shared by the resources and the definitions.

Every setting is read through Dagster's ``EnvVar`` when the variable is set, so the UI shows
*which* variable configured a resource without ever showing its value.
"""

import os
from pathlib import Path

import dagster as dg

DEFAULT_API_URL = "https://api.binance.com"
DEFAULT_SYMBOLS = "BTCUSDT"
DEFAULT_LAKE_URL = "./data/lake"
DEFAULT_CLICKHOUSE_DIR = "./data/clickhouse"
DEFAULT_DATABASE = "binance"
DEFAULT_PARTITIONS_START = "2024-01-01-00:00"


def env_or_default(name: str, default: str) -> "str | dg.EnvVar":
    """``EnvVar(name)`` when the variable is set, else the embedded default."""
    return dg.EnvVar(name) if os.environ.get(name) else default


def embedded_clickhouse_url(directory: str = DEFAULT_CLICKHOUSE_DIR) -> str:
    return f"chdb://{Path(directory).resolve()}"


class ConfigurationError(ValueError):
    """Bad configuration: the message names the variable and how to fix it."""


DEFAULT_QUEUE_NAME = "klines-notifications"
DEFAULT_DLQ_NAME = "klines-notifications-dlq"


def env_or_none(*names: str) -> "dg.EnvVar | None":
    """``EnvVar`` of the first of ``names`` that is set, else None (the library's own default)."""
    return next((dg.EnvVar(name) for name in names if os.environ.get(name)), None)


def is_s3_url(url: str) -> bool:
    return url.startswith("s3://")


def lake_url() -> str:
    """``LAKE_URL`` as the process sees it: decides at load time whether loads are event-driven."""
    return os.environ.get("LAKE_URL") or DEFAULT_LAKE_URL
