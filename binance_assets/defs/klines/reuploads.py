"""``klines_archive_reuploads``: Binance replaces archive files after the fact (truncated or wrong
files are re-uploaded); this sensor notices and re-runs exactly the hours of a replaced file.

Once a day it re-reads the ``.CHECKSUM`` of every archive file the lake holds (one small request
each, no request weight). When the archive lists another hash than the lake's copy has, it
requests a ``klines_job`` run over that file's hours (those ``raw_klines`` holds: a file used for
part of a range re-runs that part), for that file's symbol only; the run
downloads the new file, keeps the old one beside it (``superseded/``) and rewrites the hours, and
ClickHouse keeps the newer fetch of every candle. A pass that does not fit in one tick carries on
at the next (the cursor remembers where it stopped); the run key (file and new hash) makes sure
one replacement starts one run.
"""

import json
import time
from datetime import UTC, datetime, timedelta

import dagster as dg

from binance_assets.defs.klines.archive import StoredFile, stored_file, stored_markers
from binance_assets.defs.klines.raw import raw_klines
from binance_assets.defs.klines.schedules import klines_job
from binance_assets.lib.partitions import PARTITION_FORMAT, contiguous_spans, hours_target
from binance_assets.lib.schedules import default_sensor_status
from binance_assets.resources.binance import BinanceArchive
from binance_assets.resources.lake import LakeResource
from binance_assets.settings import TrackedSymbols

SENSOR_NAME = "klines_archive_reuploads"
REUPLOAD_TAG = "binance_assets/archive_reupload"
# Dagster stops a sensor tick after 60 s: a pass over many files spreads over several ticks.
TICK_BUDGET_S = 40.0
TICK_EVERY_S = 15 * 60


def reupload_requests(file: StoredFile, listed_sha256: str, materialized: set[str]) -> list[dg.RunRequest]:
    """klines_job runs over the file's hours that raw_klines holds, for the file's symbol only: one run per
    stretch of consecutive hours (usually the whole file)."""
    period, hour = file.ref.period, timedelta(hours=1)
    hours = [period.start + i * hour for i in range(int((period.end - period.start) / hour))]
    held = [h for h in hours if h.strftime(PARTITION_FORMAT) in materialized]
    requests = []
    for span in contiguous_spans(held):
        target = hours_target(span[0], span[-1])
        requests.append(
            dg.RunRequest(
                run_key=f"{file.ref.name} sha256={listed_sha256} {span[0]:%Y-%m-%d-%H:%M}",
                partition_key=target["partition_key"],
                tags={REUPLOAD_TAG: file.ref.name, **target["tags"]},
                run_config={"resources": {"symbols": {"config": {"symbols": file.ref.symbol}}}},
            )
        )
    return requests


def _cursor(raw: str | None, today: str) -> str:
    """Where today's pass stopped ("" = from the start); None once it is done. An unreadable cursor
    starts the pass again: checking a file twice costs one small request."""
    try:
        state = json.loads(raw) if raw else {}
    except ValueError:
        state = {}
    if not isinstance(state, dict) or state.get("day") != today:
        return ""
    return None if state.get("done") else state.get("after", "")


@dg.sensor(
    name=SENSOR_NAME,
    job=klines_job,
    minimum_interval_seconds=TICK_EVERY_S,
    default_status=default_sensor_status(),
    description="Once a day, re-reads the .CHECKSUM of every klines archive file in the lake and re-runs "
    "exactly the hours of a file Binance replaced (for its symbol; the old copy is kept). Starts running when "
    "SCHEDULES_ENABLED=true.",
)
def klines_archive_reuploads(
    context: dg.SensorEvaluationContext, lake: LakeResource, archive: BinanceArchive, symbols: TrackedSymbols
) -> dg.SensorResult | dg.SkipReason:
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    after = _cursor(context.cursor, today)
    if after is None:
        return dg.SkipReason(f"Every archive file in the lake was checked today ({today}).")
    markers = [marker for marker in stored_markers(lake) if marker > after]
    deadline = time.monotonic() + TICK_BUDGET_S
    requests, replaced, checked, position, materialized = [], 0, 0, after, None
    for marker in markers:
        if time.monotonic() > deadline:
            break
        file, position, checked = stored_file(lake, marker), marker, checked + 1
        if file.ref.symbol not in symbols.names:
            continue
        listed = archive.checksum(file.ref)
        if listed is None:
            context.log.warning(f"{file.ref.name} is no longer in the archive (404); the lake keeps its copy.")
        elif listed != file.sha256:
            context.log.warning(
                f"{file.ref.name} was replaced in the archive: sha256 {file.sha256} in the lake, {listed} now."
            )
            if materialized is None:
                materialized = context.instance.get_materialized_partitions(raw_klines.key)
            requests += reupload_requests(file, listed, materialized)
            replaced += 1
    done = checked == len(markers)
    context.log.info(
        f"{checked} archive file(s) checked, {replaced} replaced ({len(requests)} run(s) requested); "
        + ("today's pass is complete." if done else f"{len(markers) - checked} left for the next tick.")
    )
    cursor = json.dumps({"day": today, "after": position, "done": done})
    if not requests:
        return dg.SensorResult(skip_reason=f"{checked} archive file(s) checked, none replaced.", cursor=cursor)
    return dg.SensorResult(run_requests=requests, cursor=cursor)
