"""Two runs over the same hours of the same data take turns.

A run rewrites each lake folder it covers: it removes the ``_SUCCESS`` marker, writes the data, then
the marker. A second run reading that folder meanwhile finds it incomplete and fails; two writing
it at once race. Pools cannot prevent this (they cover the exchange and ClickHouse steps only), so
a run first waits for every *earlier* unfinished run whose hours overlap its own and which writes
an asset it reads or writes (or reads one it writes). "Earlier" is by start time, then run id: two
runs started at once never wait for each other. Runs without hourly partitions never wait (live
order-book snapshots must not be delayed; their folders grow by atomic manifest updates).
"""

from datetime import datetime

import dagster as dg

from binance_assets.lib.runs.spans import run_hours

Hours = tuple[datetime, datetime]


def run_assets(instance: dg.DagsterInstance, run: dg.DagsterRun) -> set[dg.AssetKey]:
    """The assets a run materialises: its selection, else every asset of its execution plan."""
    if run.asset_selection:
        return set(run.asset_selection)
    plan = (
        instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id) if run.execution_plan_snapshot_id else None
    )
    if plan is None:
        return set()
    return {
        output.properties.asset_key
        for step in plan.steps
        for output in step.outputs
        if output.properties is not None and output.properties.asset_key is not None
    }


class Overlaps:
    """The earlier unfinished runs ``run`` must wait for."""

    def __init__(self, instance: dg.DagsterInstance, run: dg.DagsterRun, definitions: dg.RepositoryDefinition):
        self.instance = instance
        self.run = run
        self.graph = definitions.asset_graph
        self.hours = run_hours(run)
        self.writes = run_assets(instance, run)
        self.touches = self._with_parents(self.writes)

    def _with_parents(self, keys: set[dg.AssetKey]) -> set[dg.AssetKey]:
        return keys | {parent for key in keys if self.graph.has(key) for parent in self.graph.get(key).parent_keys}

    def blocking(self) -> list[tuple[dg.DagsterRun, str]]:
        """(run, the shared hours and assets) of each earlier unfinished run this run must wait for."""
        if self.hours is None:
            return []
        records = self.instance.get_run_records(
            dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING])
        )
        mine = next((r for r in records if r.dagster_run.run_id == self.run.run_id), None)
        if mine is None or mine.start_time is None:
            return []
        blocking = []
        for record in records:
            other = record.dagster_run
            if other.run_id == self.run.run_id or record.start_time is None:
                continue
            if (record.start_time, other.run_id) > (mine.start_time, self.run.run_id):
                continue  # started later: it waits for this run, not the reverse
            shared = self._conflict(other)
            if shared:
                blocking.append((other, shared))
        return blocking

    def _conflict(self, other: dg.DagsterRun) -> str | None:
        hours = run_hours(other)
        if hours is None or hours[1] < self.hours[0] or self.hours[1] < hours[0]:
            return None
        writes = run_assets(self.instance, other)
        assets = (writes & self.touches) | (self.writes & self._with_parents(writes))
        if not assets:
            return None
        first, last = max(hours[0], self.hours[0]), min(hours[1], self.hours[1])
        span = f"{first:%Y-%m-%d-%H:%M}" + (f"...{last:%Y-%m-%d-%H:%M}" if last != first else "")
        return f"hours {span} of {', '.join(sorted(k.to_user_string() for k in assets))}"
