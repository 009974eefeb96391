"""How schedules start: on a cron from the settings, running or stopped by ``SCHEDULES_ENABLED``.

A data schedule's first state comes from ``SCHEDULES_ENABLED``: true (meant for docker compose)
starts it RUNNING, anything else STOPPED, so a local ``./scripts/dev`` — whose default exchange is
the real Binance — fetches nothing until you switch it on in the UI. Once switched in the UI, the
instance remembers that state and the variable no longer matters for it. Collection that cannot
be redone later (order-book snapshots) runs from the start.
"""

import dagster as dg

from binance_assets import settings

SCHEDULES_ENABLED = "SCHEDULES_ENABLED"


def default_schedule_status() -> dg.DefaultScheduleStatus:
    if settings.current().flag(SCHEDULES_ENABLED):
        return dg.DefaultScheduleStatus.RUNNING
    return dg.DefaultScheduleStatus.STOPPED


def default_sensor_status() -> dg.DefaultSensorStatus:
    """A sensor that starts data runs starts like the data schedules (``SCHEDULES_ENABLED``)."""
    running = default_schedule_status() == dg.DefaultScheduleStatus.RUNNING
    return dg.DefaultSensorStatus.RUNNING if running else dg.DefaultSensorStatus.STOPPED


def running_schedule(name: str, job, cron_variable: str, why: str) -> dg.ScheduleDefinition:
    """A UTC schedule on the cron in ``cron_variable``, running from the start (``why`` says why)."""
    default = settings.DEFAULTS[cron_variable]
    return dg.ScheduleDefinition(
        name=name,
        job=job,
        cron_schedule=settings.current().cron(cron_variable),
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"On {cron_variable} (default {default!r}, UTC); running from the start: {why}",
    )
