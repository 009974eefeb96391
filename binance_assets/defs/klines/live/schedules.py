"""Sensors of the live stream: its health every minute, and the embedded warehouse's load path.

``klines_live_edge`` reads the stream's status in the lake (never the warehouse: on chdb that would
lock runs out) and records, without a run, an observation of ``klines_stream`` and an evaluation of
``klines_live_edge_fresh``. ``klines_stream_loads`` (running from the start on the embedded
warehouse only; on a server the stream inserts itself) requests a load whenever the edge moved.
"""

import json
import time

import dagster as dg

from binance_assets import settings
from binance_assets.defs.klines.live.checks import EDGE_CHECK, live_edge_verdict
from binance_assets.defs.klines.live.raw import klines_stream, read_status
from binance_assets.defs.klines.live.warehouse import LiveHours, clickhouse_klines_stream
from binance_assets.lib.partitions import HOUR_MS, MINUTE_MS, hour_key
from binance_assets.resources.lake import LakeResource
from binance_assets.settings import TrackedSymbols

RUNNING, STOPPED = dg.DefaultSensorStatus.RUNNING, dg.DefaultSensorStatus.STOPPED
NEVER_STREAMED = "No live stream has written to the lake yet (start `binance-assets stream`)."

klines_stream_load_job = dg.define_asset_job(
    "klines_stream_load",
    selection=[clickhouse_klines_stream],
    executor_def=dg.in_process_executor,  # one small step a minute: no process per step
    description="Live candles from the lake into the embedded warehouse.",
)


@dg.sensor(
    name="klines_live_edge",
    minimum_interval_seconds=60,
    default_status=RUNNING,
    description=(
        f"Every minute: how old the live edge is (an observation of {klines_stream.key.to_user_string()}) and "
        f"{EDGE_CHECK}, failing when a symbol's newest streamed candle closed more than 2 minutes ago. Skips "
        "while no stream has ever run."
    ),
)
def klines_live_edge(context: dg.SensorEvaluationContext, symbols: TrackedSymbols, lake: LakeResource):
    status = read_status(lake)
    if status is None:
        return dg.SkipReason(NEVER_STREAMED)
    verdict = live_edge_verdict(status, symbols.names, int(time.time() * 1000))
    return dg.SensorResult(
        asset_events=[
            dg.AssetObservation(asset_key=klines_stream.key, metadata=verdict.metadata),
            dg.AssetCheckEvaluation(
                asset_key=klines_stream.key,
                check_name=EDGE_CHECK,
                passed=verdict.passed,
                severity=verdict.severity,
                metadata=verdict.metadata,
            ),
        ]
    )


def live_load_request(edge: dict[str, int], loaded: dict[str, int]) -> dg.RunRequest | None:
    """A load of every hour holding candles newer than ``loaded`` (symbol → newest open time loaded);
    a symbol never loaded starts an hour before its edge. None when nothing is new."""
    moved = {symbol: newest for symbol, newest in edge.items() if newest > loaded.get(symbol, -1)}
    if not moved:
        return None
    first = min(loaded.get(symbol, newest - HOUR_MS) + MINUTE_MS for symbol, newest in moved.items())
    last = max(moved.values())
    hours = LiveHours(first_hour=hour_key(first // HOUR_MS * HOUR_MS), last_hour=hour_key(last // HOUR_MS * HOUR_MS))
    return dg.RunRequest(
        run_key=f"klines_stream {json.dumps(moved, sort_keys=True)}",
        run_config=dg.RunConfig(ops={clickhouse_klines_stream.op.name: hours}),
        tags={"binance_assets/live_edge": hour_key(last)},
    )


@dg.sensor(
    name="klines_stream_loads",
    job=klines_stream_load_job,
    minimum_interval_seconds=15,
    default_status=RUNNING if settings.current().warehouse_is_embedded else STOPPED,
    description=(
        "Embedded warehouse: loads the live candles the stream wrote to the lake since the last load (the "
        "stream cannot open chdb while runs use it). Running from the start on chdb; on a ClickHouse server the "
        "stream inserts them itself."
    ),
)
def klines_stream_loads(context: dg.SensorEvaluationContext, lake: LakeResource):
    status = read_status(lake)
    if status is None:
        return dg.SkipReason(NEVER_STREAMED)
    loaded = json.loads(context.cursor) if context.cursor else {}
    request = live_load_request(status.get("edge", {}), loaded)
    if request is None:
        return dg.SkipReason("No live candle written since the last load.")
    return dg.SensorResult(run_requests=[request], cursor=json.dumps({**loaded, **status["edge"]}, sort_keys=True))
