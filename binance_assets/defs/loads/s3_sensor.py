"""``s3_parquet_sensor``: the warehouse follows the S3 lake, one SQS notification at a time.

Each tick:
1. settles the messages of earlier ticks: once the run requests they led to are recorded on the
   instance (the daemon saves the cursor only after submitting the runs), they are deleted;
2. receives a bounded batch of messages (a short long-poll, a time budget well inside the 60 s tick);
3. triages each message: test events, files outside the loadable datasets and files already loaded
   (by this sensor, or by any run whose load of that hour began after the file landed, such as the
   hourly job that wrote it) are deleted at once; bodies that are not S3 events go to the dead-letter queue; files whose hour
   is not yet complete for every symbol are deferred (after ``maxReceiveCount`` receives the redrive
   policy parks them in the DLQ);
4. requests one load run per dataset and contiguous span of hours, and holds the messages until
   the next tick confirms those runs exist.
A message is therefore deleted only after its run request is recorded, and a crash anywhere
leaves it in the queue to be seen again.
"""

import json
import time
from dataclasses import asdict, dataclass, field

import dagster as dg

from binance_assets.defs.loads.load_requests import LakeFile, plan_loads
from binance_assets.defs.loads.s3_events import ObjectCreated, PoisonMessage, parse_body
from binance_assets.lib.dataset import HOURLY_LOADS, dataset_of
from binance_assets.lib.load import incomplete_symbols
from binance_assets.lib.partitions import PARTITION_FORMAT, hourly_partitions
from binance_assets.resources.lake import LakeResource
from binance_assets.resources.lake.layout import CLEAN, parse
from binance_assets.resources.lake.stores import S3Store
from binance_assets.resources.sqs import NotificationQueue, QueueMessage, QueueMissingError
from binance_assets.settings import TrackedSymbols

SENSOR_NAME = "s3_parquet_sensor"
# Tags the sensor daemon puts on the runs it creates (dagster._core.storage.tags).
RUN_KEY_TAG = "dagster/run_key"
SENSOR_NAME_TAG = "dagster/sensor_name"
RECEIVE_BUDGET_S = 20.0
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
        self._complete: dict[tuple[str, str], bool] = {}
        self._load_started: dict[tuple[str, str], float | None] = {}

    def _recorded(self, run_key: str) -> bool:
        runs = self.context.instance.get_runs(filters=dg.RunsFilter(tags={RUN_KEY_TAG: run_key}), limit=5)
        return any(run.tags.get(SENSOR_NAME_TAG) == SENSOR_NAME for run in runs)

    def settle(self, cursor: SensorCursor) -> None:
        for message_id, held in list(cursor.held.items()):
            if all(self._recorded(key) for key in set(held.run_keys)):
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

    def load_started(self, file: LakeFile) -> float | None:
        """When the load behind the partition's latest materialization began (it read what was there then)."""
        key = (file.dataset, file.hour.strftime(PARTITION_FORMAT))
        if key not in self._load_started:
            instance = self.context.instance
            latest = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=self.load_keys[file.dataset], asset_partitions=[key[1]]), limit=1
            ).records
            started = None
            if latest:
                entry = latest[0].event_log_entry
                steps = instance.get_records_for_run(entry.run_id, of_type=dg.DagsterEventType.STEP_START).records
                started = next(
                    (s.event_log_entry.timestamp for s in steps if s.event_log_entry.step_key == entry.step_key), None
                )
            self._load_started[key] = started
        return self._load_started[key]

    def loaded_since_landing(self, file: LakeFile) -> bool:
        """A load of its hour began after the file landed (e.g. the hourly job loads what it wrote)."""
        started = self.load_started(file) if file.landed_at is not None else None
        return started is not None and started > file.landed_at + CLOCK_MARGIN_S

    def complete(self, file: LakeFile) -> bool:
        key = (file.dataset, file.hour.strftime(PARTITION_FORMAT))
        if key not in self._complete:
            missing = incomplete_symbols(self.lake, file.dataset, self.symbols, file.hour)
            if missing:
                self.log.info(f"{file.dataset} {key[1]}: waiting for the _SUCCESS of {', '.join(missing)}")
            self._complete[key] = not missing
        return self._complete[key]

    def poison(self, message: QueueMessage, error: PoisonMessage) -> None:
        if self.queue.dead_letter(message, str(error)):
            self.log.warning(f"Message {message.id} moved to DLQ {self.queue.dlq_name!r}: {error}")
        else:
            self.log.warning(
                f"Message {message.id} cannot be parsed ({error}) and DLQ {self.queue.dlq_name!r} does not exist: "
                "left to the queue's redrive policy (run `binance-assets setup` to create the DLQ)."
            )

    def triage(self, message: QueueMessage, cursor: SensorCursor) -> tuple[list[LakeFile], dict[str, str]] | None:
        """Files to load, and {identity: run key} of files already requested, of a message to hold.

        None when the message is settled here (deleted, dead-lettered or deferred)."""
        try:
            events = parse_body(message.body)
        except PoisonMessage as error:
            self.poison(message, error)
            return None
        if events is None:
            self.log.info(f"Message {message.id}: s3:TestEvent, deleted")
            self.deletable[message.id] = message.receipt
            return None
        files: list[LakeFile] = []
        pending: dict[str, str] = {}
        for event in events:
            file = self.lake_file(event)
            if isinstance(file, str):
                self.log.info(f"Message {message.id}: ignoring s3://{event.bucket}/{event.key}: {file}")
            elif file.identity in cursor.loaded or self.loaded_since_landing(file):
                self.log.info(
                    f"Message {message.id}: s3://{event.bucket}/{event.key} (ETag {event.etag}) already loaded"
                )
            elif (run_key := cursor.held_run_key(file.identity)) is not None:
                pending[file.identity] = run_key
            else:
                files.append(file)
        if not files and not pending:
            self.deletable[message.id] = message.receipt
            return None
        if not all(self.complete(f) for f in files):
            hide = DEFER_S[min(message.receive_count, len(DEFER_S)) - 1]
            self.queue.defer(message, hide)
            self.log.info(
                f"Message {message.id}: partition incomplete, retried in {hide} s (receive {message.receive_count})"
            )
            return None
        return files, pending


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
    try:
        messages = notifications.receive(RECEIVE_BUDGET_S)
    except QueueMissingError as error:
        notifications.delete(tick.deletable, context.log)
        return dg.SensorResult(skip_reason=str(error), cursor=cursor.dump(tick.now))

    holding: dict[str, tuple[QueueMessage, list[LakeFile], dict[str, str]]] = {}
    for message in messages:
        triaged = tick.triage(message, cursor)
        if triaged is not None:
            holding[message.id] = (message, *triaged)
    unique = {f.identity: f for _, files, _ in holding.values() for f in files}
    plans = plan_loads(list(unique.values()), tick.load_keys)
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
    context.log.info(
        f"{len(messages)} message(s): {len(plans)} load run(s) requested for {len(unique)} file(s), "
        f"{len(deleted)} message(s) deleted, {len(cursor.held)} awaiting their runs"
    )
    if not plans:
        return dg.SensorResult(skip_reason="No new clean Parquet to load", cursor=cursor.dump(tick.now))
    return dg.SensorResult(run_requests=[p.run_request() for p in plans], cursor=cursor.dump(tick.now))


def s3_parquet_sensor(default_status: dg.DefaultSensorStatus) -> dg.SensorDefinition:
    return dg.sensor(
        name=SENSOR_NAME,
        minimum_interval_seconds=30,
        default_status=default_status,
        asset_selection=HOURLY_LOADS,
        description=(
            "Loads each clean Parquet partition into ClickHouse when S3 announces it on SQS "
            "(queue SQS_QUEUE_NAME, dead letters in SQS_DLQ_NAME)."
        ),
    )(read_notifications)
