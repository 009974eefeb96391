"""``s3_parquet_sensor``: the warehouse follows the S3 lake, one SQS notification at a time.

Each tick (every 10 s):
1. settles the messages of earlier ticks: once the run requests they led to are recorded on the
   instance (the daemon saves the cursor only after submitting the runs), they are deleted;
2. receives up to 1000 messages (a short long-poll, then as fast as SQS answers, within a time
   budget well inside the 60 s tick), so a backfill's notifications drain in a few ticks;
3. triages them together: test events, files outside the loadable datasets and files already
   loaded (by this sensor, or by any run whose load of that hour began after the file landed, such
   as the hourly job or a CLI backfill that wrote it) are deleted at once; bodies that are not S3
   events go to the dead-letter queue; files whose hour is not yet complete for every symbol are
   deferred (after ``maxReceiveCount`` receives the redrive policy parks them in the DLQ). The
   lookups behind this are a few queries and listings per tick, whatever the number of messages;
4. requests one load run per dataset and contiguous span of hours, and holds the messages until
   the next tick confirms those runs exist.
A message is therefore deleted only after its run request is recorded, and a crash anywhere
leaves it in the queue to be seen again.
"""

import json
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

import dagster as dg

from binance_assets.defs.loads.load_requests import LakeFile, plan_loads
from binance_assets.defs.loads.loaded import load_starts
from binance_assets.defs.loads.s3_events import ObjectCreated, PoisonMessage, parse_body
from binance_assets.lib.dataset import HOURLY_LOADS, dataset_of
from binance_assets.lib.load import incomplete_hours
from binance_assets.lib.partitions import HOUR, PARTITION_FORMAT, hourly_partitions
from binance_assets.resources.lake import LakeResource
from binance_assets.resources.lake.layout import CLEAN, parse
from binance_assets.resources.lake.stores import S3Store
from binance_assets.resources.sqs import NotificationQueue, QueueMessage, QueueMissingError
from binance_assets.settings import TrackedSymbols

SENSOR_NAME = "s3_parquet_sensor"
# Tags the sensor daemon puts on the runs it creates (dagster._core.storage.tags).
RUN_KEY_TAG = "dagster/run_key"
SENSOR_NAME_TAG = "dagster/sensor_name"
# Every 10 s: a file lands in ClickHouse within seconds of its notification, not half a minute.
TICK_INTERVAL_S = 10
# Reading stops after this long, well inside Dagster's 60 s tick limit with the triage that follows.
RECEIVE_BUDGET_S = 25.0
MAX_LISTED = 5
# A file version loaded within this window is recognised when its notification comes again.
REMEMBER_LOADED_S = 6 * 3600
REMEMBER_LOADED_MAX = 5000
# Hiding times for a message whose hour is not complete yet, by receive count.
DEFER_S = (60, 300, 900)
# S3's clock against Dagster's: a load covers a file only if it began this much after the file landed.
CLOCK_MARGIN_S = 1.0


@dataclass
class HeldMessage:
    """A message whose runs were requested: deleted once they are recorded, dropped when its receipt expires."""

    receipt: str
    run_keys: list[str]
    identities: list[str]
    expires_at: float


@dataclass
class SensorCursor:
    held: dict[str, HeldMessage] = field(default_factory=dict)
    loaded: dict[str, float] = field(default_factory=dict)  # file identity → when its run was confirmed

    @classmethod
    def load(cls, raw: str | None, log) -> "SensorCursor":
        if not raw:
            return cls()
        try:
            data = json.loads(raw)
            return cls({k: HeldMessage(**v) for k, v in data["held"].items()}, dict(data["loaded"]))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            # Losing the cursor costs at most a repeated load (ReplacingMergeTree keeps one row per key).
            log.warning(
                f"Ignoring an unreadable cursor ({error}); held messages come back after their visibility timeout."
            )
            return cls()

    def dump(self, now: float) -> str:
        recent = sorted(((t, i) for i, t in self.loaded.items() if now - t < REMEMBER_LOADED_S), reverse=True)
        self.loaded = {i: t for t, i in recent[:REMEMBER_LOADED_MAX]}
        return json.dumps({"held": {k: asdict(v) for k, v in self.held.items()}, "loaded": self.loaded}, sort_keys=True)

    def held_run_key(self, identity: str) -> str | None:
        for held in self.held.values():
            if identity in held.identities:
                return held.run_keys[held.identities.index(identity)]
        return None


Holding = tuple[QueueMessage, list[LakeFile], dict[str, str]]


def loadable_datasets(context: dg.SensorEvaluationContext) -> dict[str, dg.AssetKey]:
    """Dataset → its hourly load asset, for every load asset in this code location (by their tags),
    so a new dataset is loaded without touching the sensor.
    """
    if context.repository_def is None:
        # Without it every file would look unloadable and its message be deleted.
        raise dg.DagsterInvariantViolationError(
            "s3_parquet_sensor needs its definitions: build_sensor_context(definitions=...)"
        )
    graph = context.repository_def.asset_graph
    return {dataset_of(graph.get(key).tags): key for key in HOURLY_LOADS.resolve(graph)}


class Tick:
    """One evaluation: what to delete now, what to request, what to hold until its runs exist."""

    def __init__(self, context, queue: NotificationQueue, lake: LakeResource, symbols: list[str], store: S3Store):
        self.context = context
        self.log = context.log
        self.queue = queue
        self.lake = lake
        self.symbols = symbols
        self.store = store
        self.load_keys = loadable_datasets(context)
        self.now = time.time()
        self.deletable: dict[str, str] = {}  # message id → receipt handle
        self.summary = TriageSummary()
        self._recorded: dict[str, bool] = {}
        self._complete: dict[tuple[str, datetime], bool] = {}
        self._load_started: dict[tuple[str, str], float] = {}

    def recorded(self, run_key: str) -> bool:
        if run_key not in self._recorded:
            runs = self.context.instance.get_runs(filters=dg.RunsFilter(tags={RUN_KEY_TAG: run_key}), limit=5)
            self._recorded[run_key] = any(run.tags.get(SENSOR_NAME_TAG) == SENSOR_NAME for run in runs)
        return self._recorded[run_key]

    def settle(self, cursor: SensorCursor) -> None:
        for message_id, held in list(cursor.held.items()):
            if all(self.recorded(key) for key in set(held.run_keys)):
                self.deletable[message_id] = held.receipt
                cursor.loaded.update(dict.fromkeys(held.identities, self.now))
                del cursor.held[message_id]
            elif self.now >= held.expires_at:
                # The runs were never recorded (the tick failed or was interrupted): the message is
                # visible again and will be planned afresh.
                self.log.warning(
                    f"Runs {held.run_keys} for message {message_id} were not recorded; it will be retried."
                )
                del cursor.held[message_id]

    def lake_file(self, event: ObjectCreated) -> LakeFile | str:
        """The load partition an announced object feeds, or why it is ignored."""
        path = self.store.relative(event.bucket, event.key)
        if path is None:
            return f"outside the lake {self.store.uri('')}"
        parsed = parse(path)
        if parsed is None or parsed.zone != CLEAN or parsed.file != f"{parsed.dataset}.parquet":
            return "not a clean Parquet partition file"
        if parsed.dataset not in self.load_keys:
            return f"dataset {parsed.dataset!r} has no load asset (loadable: {', '.join(sorted(self.load_keys))})"
        if parsed.symbol not in self.symbols:
            return f"symbol {parsed.symbol} is not in BINANCE_SYMBOLS ({','.join(self.symbols)})"
        if not hourly_partitions.has_partition_key(parsed.hour.strftime(PARTITION_FORMAT)):
            return f"hour {parsed.hour:%Y-%m-%d %H}:00 is outside the hourly partitions"
        return LakeFile(parsed.dataset, parsed.symbol, parsed.hour, event.identity, event.landed_at)

    def look_up(self, files: list[LakeFile]) -> None:
        """What the triage needs about all the tick's hours at once: when each hour's latest load began,
        and whether every symbol's file of the hour is complete (a few queries and listings in all)."""
        hours_by_dataset: dict[str, set[datetime]] = defaultdict(set)
        for file in files:
            hours_by_dataset[file.dataset].add(file.hour)
        for dataset, hours in hours_by_dataset.items():
            partitions = {hour.strftime(PARTITION_FORMAT) for hour in hours}
            starts = load_starts(self.context.instance, self.load_keys[dataset], partitions)
            self._load_started.update({(dataset, partition): t for partition, t in starts.items()})
            # Every hour from the first to the last announced one: the planner may load gaps between them.
            between = [min(hours) + timedelta(hours=i) for i in range(int((max(hours) - min(hours)) / HOUR) + 1)]
            incomplete = incomplete_hours(self.lake, dataset, self.symbols, between)
            self._complete.update({(dataset, hour): hour not in incomplete for hour in between})
            waiting = [hour for hour in sorted(hours) if hour in incomplete]
            for hour in waiting[:MAX_LISTED]:
                self.log.info(
                    f"{dataset} {hour:%Y-%m-%d-%H:%M}: waiting for the _SUCCESS of {', '.join(incomplete[hour])}"
                )

    def complete(self, dataset: str, hour: datetime) -> bool:
        """Every symbol's file of the hour has its ``_SUCCESS`` (hours between the tick's files included)."""
        return self._complete.get((dataset, hour), False)

    def loaded_since_landing(self, file: LakeFile) -> bool:
        """A load of its hour began after the file landed (e.g. the hourly job loads what it wrote)."""
        started = self._load_started.get((file.dataset, file.hour.strftime(PARTITION_FORMAT)))
        return started is not None and file.landed_at is not None and started > file.landed_at + CLOCK_MARGIN_S

    def poison(self, message: QueueMessage, error: PoisonMessage) -> None:
        if self.queue.dead_letter(message, str(error)):
            self.log.warning(f"Message {message.id} moved to DLQ {self.queue.dlq_name!r}: {error}")
        else:
            self.log.warning(
                f"Message {message.id} cannot be parsed ({error}) and DLQ {self.queue.dlq_name!r} does not exist: "
                "left to the queue's redrive policy (run `binance-assets setup` to create the DLQ)."
            )

    def parse(self, message: QueueMessage) -> list[LakeFile] | None:
        """The loadable files a message announces; None when it is settled here (dead-lettered, test event)."""
        try:
            events = parse_body(message.body)
        except PoisonMessage as error:
            self.poison(message, error)
            return None
        if events is None:
            self.summary.test_events += 1
            self.deletable[message.id] = message.receipt
            return None
        files = []
        for event in events:
            file = self.lake_file(event)
            if isinstance(file, str):
                self.summary.ignored.setdefault(file, []).append(f"s3://{event.bucket}/{event.key}")
            else:
                files.append(file)
        return files

    def triage(self, messages: list[QueueMessage], cursor: SensorCursor) -> dict[str, Holding]:
        """Messages to hold until their runs exist: {id: (message, files to load, {identity: run key} of
        files already requested)}. Every other message is deleted, dead-lettered or deferred here."""
        parsed = [(message, files) for message in messages if (files := self.parse(message)) is not None]
        self.look_up([file for _, files in parsed for file in files])
        holding: dict[str, Holding] = {}
        deferred: list[tuple[QueueMessage, int]] = []
        for message, files in parsed:
            to_load: list[LakeFile] = []
            pending: dict[str, str] = {}
            for file in files:
                if file.identity in cursor.loaded or self.loaded_since_landing(file):
                    self.summary.already_loaded.append(f"{file.dataset} {file.symbol} {file.hour:%Y-%m-%d-%H:%M}")
                elif (run_key := cursor.held_run_key(file.identity)) is not None:
                    pending[file.identity] = run_key
                else:
                    to_load.append(file)
            if not to_load and not pending:
                self.deletable[message.id] = message.receipt
            elif not all(self.complete(f.dataset, f.hour) for f in to_load):
                deferred.append((message, DEFER_S[min(message.receive_count, len(DEFER_S)) - 1]))
            else:
                holding[message.id] = (message, to_load, pending)
        if deferred:
            self.queue.defer(deferred)
            self.summary.deferred = len(deferred)
        return holding


@dataclass
class TriageSummary:
    """What a tick settled without a run, logged as counts with a few examples (a backfill's thousands
    of notifications would otherwise write a line each)."""

    test_events: int = 0
    deferred: int = 0
    already_loaded: list[str] = field(default_factory=list)
    ignored: dict[str, list[str]] = field(default_factory=dict)

    def log(self, log) -> None:
        if self.already_loaded:
            log.info(f"{len(self.already_loaded)} file(s) already loaded, deleted: {_examples(self.already_loaded)}")
        for reason, objects in self.ignored.items():
            log.info(f"{len(objects)} object(s) ignored, deleted ({reason}): {_examples(objects)}")
        if self.test_events:
            log.info(f"{self.test_events} s3:TestEvent message(s) deleted")
        if self.deferred:
            log.info(
                f"{self.deferred} message(s) deferred: their hour is not complete for every symbol yet "
                f"(retried after {', then '.join(f'{s} s' for s in DEFER_S)})"
            )


def _examples(items: list[str]) -> str:
    return ", ".join(items[:MAX_LISTED]) + (f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else "")


def read_notifications(
    context: dg.SensorEvaluationContext, notifications: NotificationQueue, lake: LakeResource, symbols: TrackedSymbols
) -> dg.SensorResult:
    store = lake.store
    if not isinstance(store, S3Store):
        return dg.SensorResult(
            skip_reason=f"The lake {lake.url} is not on S3: loads follow it through automation conditions."
        )
    cursor = SensorCursor.load(context.cursor, context.log)
    tick = Tick(context, notifications, lake, symbols.names, store)
    tick.settle(cursor)
    # Deleted before receiving: a shorter queue is faster to read (moto scans it on every receive).
    settled = notifications.delete(tick.deletable, context.log)
    tick.deletable = {}
    try:
        messages = notifications.receive(RECEIVE_BUDGET_S)
    except QueueMissingError as error:
        return dg.SensorResult(skip_reason=str(error), cursor=cursor.dump(tick.now))

    holding = tick.triage(messages, cursor)
    unique = {f.identity: f for _, files, _ in holding.values() for f in files}
    plans = plan_loads(list(unique.values()), tick.load_keys, tick.complete)
    run_key_of = {identity: plan.run_key for plan in plans for identity in plan.identities}
    for message, files, pending in holding.values():
        requested = {f.identity: run_key_of[f.identity] for f in files} | pending
        cursor.held[message.id] = HeldMessage(
            receipt=message.receipt,
            run_keys=list(requested.values()),
            identities=list(requested),
            expires_at=tick.now + notifications.visibility_timeout_s,
        )
    deleted = notifications.delete(tick.deletable, context.log)
    tick.summary.log(context.log)
    context.log.info(
        f"{len(messages)} message(s): {len(plans)} load run(s) requested for {len(unique)} file(s), "
        f"{len(settled) + len(deleted)} message(s) deleted, {len(cursor.held)} awaiting their runs"
    )
    if not plans:
        return dg.SensorResult(skip_reason="No new clean Parquet to load", cursor=cursor.dump(tick.now))
    return dg.SensorResult(run_requests=[p.run_request() for p in plans], cursor=cursor.dump(tick.now))


def s3_parquet_sensor(default_status: dg.DefaultSensorStatus) -> dg.SensorDefinition:
    return dg.sensor(
        name=SENSOR_NAME,
        minimum_interval_seconds=TICK_INTERVAL_S,
        default_status=default_status,
        asset_selection=HOURLY_LOADS,
        description=(
            "Loads each clean Parquet partition into ClickHouse when S3 announces it on SQS "
            "(queue SQS_QUEUE_NAME, dead letters in SQS_DLQ_NAME)."
        ),
    )(read_notifications)
