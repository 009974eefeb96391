"""How every run of this code location executes: Dagster's default executor under the run guard
(``binance_assets.lib.runs``), so a crashed run never blocks the next one and runs over the same
hours take turns — whether launched by the ``dagster`` CLI, the UI, a schedule or a sensor."""

import dagster as dg

from binance_assets.lib.runs.executor import guarded_executor


@dg.definitions
def execution() -> dg.Definitions:
    return dg.Definitions(executor=guarded_executor)
