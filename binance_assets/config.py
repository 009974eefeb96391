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
DEFAULT_TESTNET_URL = "https://testnet.binance.vision"
DEFAULT_ORDER_BOOK_DEPTH_LIMIT = 100
DEFAULT_ORDER_BOOK_SNAPSHOT_CRON = "*/5 * * * *"
DEFAULT_SYMBOLS_REFRESH_CRON = "0 0 * * *"
DEFAULT_QUEUE_NAME = "klines-notifications"
DEFAULT_DLQ_NAME = "klines-notifications-dlq"


def env_or_default(name: str, default: str) -> "str | dg.EnvVar":
    """``EnvVar(name)`` when the variable is set, else the embedded default."""
    return dg.EnvVar(name) if os.environ.get(name) else default


def env_int_or_default(name: str, default: int) -> "int | dg.IntEnvVar":
    """``EnvVar.int(name)`` when the variable is set, else the default."""
    return dg.EnvVar.int(name) if os.environ.get(name) else default


def env_or_none(*names: str) -> "dg.EnvVar | None":
    """``EnvVar`` of the first of ``names`` that is set, else None (the library's own default): for
    optional secrets such as API keys, whose values must never be embedded in the definitions
    (EnvVar keeps them out of the UI)."""
    return next((dg.EnvVar(name) for name in names if os.environ.get(name)), None)


def embedded_clickhouse_url(directory: str = DEFAULT_CLICKHOUSE_DIR) -> str:
    return f"chdb://{Path(directory).resolve()}"


class ConfigurationError(NotRetryable, ValueError):
    """Bad configuration: the message names the variable and how to fix it. Never retried."""


def cron_from_env(name: str, default: str) -> str:
    """A schedule's cron string from the environment (read when the definitions load), validated."""
    from dagster._utils.schedules import is_valid_cron_string  # Dagster's own rule for schedules

    value = os.environ.get(name, "").strip() or default
    if not is_valid_cron_string(value):
        raise ConfigurationError(
            f"{name}={value!r} is not a 5-field cron expression (minute hour day month weekday): set e.g. {default!r}."
        )
    return value


def running_schedule(name: str, job, cron_variable: str, default_cron: str, why: str) -> dg.ScheduleDefinition:
    """A UTC schedule on the cron in ``cron_variable``, running from the start (``why`` says why)."""
    return dg.ScheduleDefinition(
        name=name,
        job=job,
        cron_schedule=cron_from_env(cron_variable, default_cron),
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"On {cron_variable} (default {default_cron!r}, UTC); running from the start: {why}",
    )


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


def is_s3_url(url: str) -> bool:
    return url.startswith("s3://")


def lake_url() -> str:
    """``LAKE_URL`` as the process sees it: decides at load time whether loads are event-driven."""
    return os.environ.get("LAKE_URL") or DEFAULT_LAKE_URL
