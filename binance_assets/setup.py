"""``binance-assets setup``: create what the pipeline needs, if missing — safe to run any number of times.

On an S3 lake: the bucket, the dead-letter queue, the notification queue (redrive to the DLQ after
``maxReceiveCount`` receives, and a policy letting the bucket send to it), and the bucket
notification of ``s3:ObjectCreated:*`` for ``{prefix}/clean/…*.parquet``. Always: the ClickHouse
database and tables. Each step reports ``created``, ``updated`` (it existed but differed) or
``exists``; a second run reports only ``exists``.
"""

import importlib
import json
import pkgutil
from collections.abc import Iterator
from dataclasses import dataclass

from botocore.exceptions import ClientError

import binance_assets.defs
from binance_assets.errors import ConfigurationError
from binance_assets.resources.aws import aws_errors, error_code
from binance_assets.resources.clickhouse import ClickHouseWarehouse, Table
from binance_assets.resources.lake.layout import CLEAN
from binance_assets.resources.lake.stores import S3Store
from binance_assets.resources.sqs import NotificationQueue

MAX_RECEIVE_COUNT = 3
DLQ_RETENTION_S = 14 * 24 * 3600  # SQS's maximum: dead letters wait two weeks for a human
NOTIFICATION_ID = "binance-assets-clean-parquet"
POLICY_SID = "binance-assets-s3-notifications"
CREATED, UPDATED, EXISTS, SKIPPED = "created", "updated", "exists", "skipped"


@dataclass(frozen=True)
class Step:
    outcome: str
    what: str

    def __str__(self) -> str:
        return f"{self.outcome:<8} {self.what}"


def ensure_bucket(s3, bucket: str, region: str | None) -> Step:
    try:
        s3.head_bucket(Bucket=bucket)
        return Step(EXISTS, f"bucket s3://{bucket}")
    except ClientError as error:
        if error_code(error) in {"403", "AccessDenied"}:
            raise ConfigurationError(
                f"Bucket {bucket!r} exists but this identity cannot use it (403): pick another bucket in LAKE_URL."
            ) from error
        if error_code(error) not in {"404", "NoSuchBucket", "NotFound"}:
            raise
    # us-east-1 is S3's default location and must not be named explicitly.
    location = {"CreateBucketConfiguration": {"LocationConstraint": region}} if region and region != "us-east-1" else {}
    try:
        s3.create_bucket(Bucket=bucket, **location)
    except ClientError as error:
        if error_code(error) == "BucketAlreadyOwnedByYou":
            return Step(EXISTS, f"bucket s3://{bucket}")
        if error_code(error) == "BucketAlreadyExists":
            raise ConfigurationError(
                f"Bucket name {bucket!r} is taken by another account: choose another in LAKE_URL."
            ) from error
        raise
    return Step(CREATED, f"bucket s3://{bucket}")


def _queue_arn(sqs, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def ensure_queue(queue: NotificationQueue, name: str, attributes: dict[str, str]) -> tuple[str, str, Step]:
    """(url, arn, step) of queue ``name``, created with ``attributes`` when missing."""
    url = queue.lookup(name)
    if url is not None:
        return url, _queue_arn(queue.client, url), Step(EXISTS, f"queue {name}")
    url = queue.client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url, _queue_arn(queue.client, url), Step(CREATED, f"queue {name}")


def _send_policy(queue_arn: str, bucket: str, existing: str | None) -> dict:
    """The queue policy letting S3 (this bucket only) send notifications, keeping others' statements."""
    policy = json.loads(existing) if existing else {"Version": "2012-10-17", "Statement": []}
    statements = [s for s in policy.get("Statement", []) if s.get("Sid") != POLICY_SID]
    statements.append(
        {
            "Sid": POLICY_SID,
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{bucket}"}},
        }
    )
    return {**policy, "Statement": statements}


def ensure_queue_attributes(queue: NotificationQueue, url: str, arn: str, dlq_arn: str, bucket: str) -> Step:
    current = queue.client.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy", "Policy"]).get(
        "Attributes", {}
    )
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
    policy = _send_policy(arn, bucket, current.get("Policy"))
    current_redrive = json.loads(current.get("RedrivePolicy") or "{}")
    changes = {}
    if {**current_redrive, "maxReceiveCount": int(current_redrive.get("maxReceiveCount", 0))} != redrive:
        changes["RedrivePolicy"] = json.dumps(redrive)
    if json.loads(current.get("Policy") or "{}") != policy:
        changes["Policy"] = json.dumps(policy)
    what = f"redrive to {dlq_arn.rsplit(':', 1)[-1]} after {MAX_RECEIVE_COUNT} receives, S3 send policy on {queue.queue_name}"
    if not changes:
        return Step(EXISTS, what)
    queue.client.set_queue_attributes(QueueUrl=url, Attributes=changes)
    return Step(UPDATED if current.get("RedrivePolicy") or current.get("Policy") else CREATED, what)


def _normalised(configuration: dict) -> dict:
    rules = configuration.get("Filter", {}).get("Key", {}).get("FilterRules", [])
    return {
        "QueueArn": configuration.get("QueueArn"),
        "Events": sorted(configuration.get("Events", [])),
        # S3 answers "Prefix"/"Suffix" for rules created as "prefix"/"suffix".
        "Rules": sorted((r["Name"].lower(), r["Value"]) for r in rules),
    }


def ensure_notification(s3, bucket: str, prefix: str, queue_arn: str) -> Step:
    clean_prefix = f"{prefix}/{CLEAN}/" if prefix else f"{CLEAN}/"
    wanted = {
        "Id": NOTIFICATION_ID,
        "QueueArn": queue_arn,
        "Events": ["s3:ObjectCreated:*"],
        "Filter": {
            "Key": {"FilterRules": [{"Name": "prefix", "Value": clean_prefix}, {"Name": "suffix", "Value": ".parquet"}]}
        },
    }
    what = f"notification s3:ObjectCreated:* s3://{bucket}/{clean_prefix}*.parquet → {queue_arn.rsplit(':', 1)[-1]}"
    current = s3.get_bucket_notification_configuration(Bucket=bucket)
    current.pop("ResponseMetadata", None)
    queues = current.get("QueueConfigurations", [])
    ours = [q for q in queues if q.get("Id") == NOTIFICATION_ID]
    if ours and _normalised(ours[0]) == _normalised(wanted):
        return Step(EXISTS, what)
    # Other notifications on the bucket are kept: the configuration is replaced as a whole.
    current["QueueConfigurations"] = [q for q in queues if q.get("Id") != NOTIFICATION_ID] + [wanted]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=current)
    return Step(UPDATED if ours else CREATED, what)


def setup_lake(store: S3Store, queue: NotificationQueue) -> Iterator[Step]:
    """Each step as it is done, so a failure shows what was already in place."""
    with aws_errors("setup"):
        yield ensure_bucket(store.client, store.bucket, store.client.meta.region_name)
        _, dlq_arn, step = ensure_queue(queue, queue.dlq_name, {"MessageRetentionPeriod": str(DLQ_RETENTION_S)})
        yield step
        url, arn, step = ensure_queue(queue, queue.queue_name, {})
        yield step
        yield ensure_queue_attributes(queue, url, arn, dlq_arn, store.bucket)
        yield ensure_notification(store.client, store.bucket, store.prefix, arn)


def dataset_tables() -> list[Table]:
    """The ``TABLE`` of every dataset folder's ``dataset.py`` (a new dataset's table is found too)."""
    tables = []
    for folder in pkgutil.iter_modules(binance_assets.defs.__path__):
        try:
            module = importlib.import_module(f"binance_assets.defs.{folder.name}.dataset")
        except ModuleNotFoundError:
            continue
        if isinstance(getattr(module, "TABLE", None), Table):
            tables.append(module.TABLE)
    return tables


def setup_warehouse(warehouse: ClickHouseWarehouse) -> Iterator[Step]:
    existed = warehouse.database_exists()
    tables = dataset_tables()
    created = set(warehouse.ensure_tables(tables))
    yield Step(EXISTS if existed else CREATED, f"ClickHouse database {warehouse.database}")
    for table in tables:
        yield Step(CREATED if table.name in created else EXISTS, f"ClickHouse table {warehouse.database}.{table.name}")
