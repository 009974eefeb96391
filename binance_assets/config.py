"""Environment-driven settings shared by the resources and the definitions.

Every setting is read through Dagster's ``EnvVar`` when the variable is set, so the UI shows
*which* variable configured a resource without ever showing its value.
"""

import os
from pathlib import Path

import dagster as dg

from binance_assets.retries import NotRetryable

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


class ConfigurationError(NotRetryable, ValueError):
    """Bad configuration: the message names the variable and how to fix it. Never retried."""


TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def env_flag(name: str, default: bool) -> bool:
    """A yes/no setting read when the definitions load; unset or empty means ``default``."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in TRUE_WORDS or raw in FALSE_WORDS:
        return raw in TRUE_WORDS
    raise ConfigurationError(f"{name}={raw!r} is not a yes/no value: set it to true or false.")
