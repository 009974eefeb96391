"""``failed_hours``: after a range run fails, its unmaterialised hours show as failed in the UI, also
when Dagster recorded one planned event per asset instead of one per hour
(``DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS=1``, see README: Range runs). Without that
switch Dagster shows them itself and the sensor finds nothing to do."""

import json
import time
from datetime import UTC, datetime

import dagster as dg

from binance_assets.lib.failed_hours import record_failed_hours

SENSOR_NAME = "failed_hours"
# A sensor tick must end within 60 s; a 17-month run that failed at once leaves 37,224 hours to
# record (about 11 ms each on SQLite), so a tick records what fits and the next one goes on.
TICK_BUDGET_S = 40
RUNS_PER_TICK = 20


@dg.sensor(
    name=SENSOR_NAME,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Marks the hours a failed range run planned and did not materialize as failed, when Dagster "
    "recorded one planned event per asset instead of one per hour.",
)
def failed_hours(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    deadline = time.monotonic() + TICK_BUDGET_S
    after = json.loads(context.cursor)["updated_after"] if context.cursor else 0.0
    failed = context.instance.get_run_records(
        filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE], updated_after=datetime.fromtimestamp(after, UTC)),
        order_by="update_timestamp",
        ascending=True,
        limit=RUNS_PER_TICK,
    )
    recorded = 0
    for record in failed:
        hours, done = record_failed_hours(context.instance, record.dagster_run.run_id, deadline)
        recorded += hours
        if hours:
            context.log.info(f"Run {record.dagster_run.run_id}: {hours:,} failed hour(s) recorded")
        if not done:
            break  # the next tick goes on with this run
        after = record.update_timestamp.timestamp()
    context.update_cursor(json.dumps({"updated_after": after}))
    return dg.SkipReason(f"{recorded:,} failed hour(s) recorded" if recorded else "no failed hour to record")
