"""The lake's notification queue: SQS receiving S3 ``ObjectCreated`` events (dagster-aws has no SQS
resource; this one is configured like dagster-aws's, on its ``ResourceWithBoto3Configuration``).

A narrow interface over boto3 — receive, delete, defer, dead-letter — so the sensor's logic reads
as what it does with messages, and its test double is a real SQS API (moto server).
"""

import json
import time
from dataclasses import dataclass

import dagster as dg
from dagster_aws.utils import ResourceWithBoto3Configuration
from pydantic import Field, PrivateAttr

from binance_assets.errors import ConfigurationError
from binance_assets.resources.aws import aws_errors, boto3_client, error_code
from binance_assets.settings import DEFAULTS

SQS_BATCH = 10  # SQS receives and deletes at most 10 messages per call
MISSING_QUEUE = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}


class QueueMissingError(ConfigurationError):
    pass


@dataclass(frozen=True)
class QueueMessage:
    id: str
    receipt: str
    body: str
    receive_count: int


class NotificationQueue(ResourceWithBoto3Configuration):
    """The SQS queue named ``SQS_QUEUE_NAME`` and its dead-letter queue ``SQS_DLQ_NAME``."""

    queue_name: str = Field(
        default=DEFAULTS["SQS_QUEUE_NAME"], description="Queue receiving the lake's S3 notifications."
    )
    dlq_name: str = Field(
        default=DEFAULTS["SQS_DLQ_NAME"], description="Dead-letter queue for bodies that cannot be parsed."
    )
    max_messages: int = Field(
        default=1000,
        description="Messages read per sensor tick at most: a backfill's notifications drain in a few ticks, "
        "and the receipts a tick holds until its runs exist keep the sensor's cursor well under a megabyte.",
    )
    wait_s: int = Field(default=2, description="Long-poll of the first receive of a tick (seconds).")
    visibility_timeout_s: int = Field(
        default=300,
        description="How long a received message stays hidden while its run request is recorded and confirmed.",
    )

    _client: object | None = PrivateAttr(default=None)
    _urls: dict[str, str | None] = PrivateAttr(default_factory=dict)

    @property
    def client(self):
        if self._client is None:
            with aws_errors("SQS"):
                self._client = boto3_client(self, "sqs")
        return self._client

    def lookup(self, name: str) -> str | None:
        """The URL of queue ``name``, or None when it does not exist."""
        from botocore.exceptions import ClientError

        if name not in self._urls:
            with aws_errors(f"SQS queue {name!r}"):
                try:
                    self._urls[name] = self.client.get_queue_url(QueueName=name)["QueueUrl"]
                except ClientError as error:
                    if error_code(error) not in MISSING_QUEUE:
                        raise
                    return None
        return self._urls[name]

    @property
    def url(self) -> str:
        url = self.lookup(self.queue_name)
        if url is None:
            raise QueueMissingError(
                f"SQS queue {self.queue_name!r} does not exist: run `binance-assets setup`, or set SQS_QUEUE_NAME."
            )
        return url

    def receive(self, budget_s: float) -> list[QueueMessage]:
        """Up to ``max_messages``: one long-poll of ``wait_s``, then short polls while messages come.

        Stops after ``budget_s`` so a sensor tick stays well inside Dagster's 60 s limit.
        """
        started = time.monotonic()
        messages: list[QueueMessage] = []
        wait = self.wait_s
        while len(messages) < self.max_messages and time.monotonic() - started < budget_s:
            with aws_errors(f"SQS queue {self.queue_name!r}"):
                batch = self.client.receive_message(
                    QueueUrl=self.url,
                    MaxNumberOfMessages=min(SQS_BATCH, self.max_messages - len(messages)),
                    WaitTimeSeconds=wait,
                    VisibilityTimeout=self.visibility_timeout_s,
                    MessageSystemAttributeNames=["ApproximateReceiveCount"],
                ).get("Messages", [])
            if not batch:
                break
            messages.extend(
                QueueMessage(
                    id=m["MessageId"],
                    receipt=m["ReceiptHandle"],
                    body=m.get("Body", ""),
                    receive_count=int(m.get("Attributes", {}).get("ApproximateReceiveCount", 1)),
                )
                for m in batch
            )
            wait = 0
        return messages

    def delete(self, receipts: dict[str, str], log: dg.DagsterLogManager | None = None) -> set[str]:
        """Delete messages (id → receipt handle); returns the ids SQS confirmed."""
        deleted: set[str] = set()
        items = list(receipts.items())
        for start in range(0, len(items), SQS_BATCH):
            batch = items[start : start + SQS_BATCH]
            entries = [{"Id": str(i), "ReceiptHandle": receipt} for i, (_, receipt) in enumerate(batch)]
            with aws_errors(f"SQS queue {self.queue_name!r}"):
                answer = self.client.delete_message_batch(QueueUrl=self.url, Entries=entries)
            for success in answer.get("Successful", []):
                deleted.add(items[start + int(success["Id"])][0])
            for failure in answer.get("Failed", []):
                if log is not None:
                    # A stale receipt (visibility expired, message re-received): it comes back and is
                    # recognised as already loaded, so nothing is lost.
                    log.warning(
                        f"Could not delete message {items[start + int(failure['Id'])][0]}: {failure.get('Code')}"
                    )
        return deleted

    def defer(self, hiding: list[tuple[QueueMessage, int]]) -> None:
        """Hide each message for its number of seconds more; they come back on a later tick."""
        for start in range(0, len(hiding), SQS_BATCH):
            entries = [
                {"Id": str(i), "ReceiptHandle": message.receipt, "VisibilityTimeout": seconds}
                for i, (message, seconds) in enumerate(hiding[start : start + SQS_BATCH])
            ]
            with aws_errors(f"SQS queue {self.queue_name!r}"):
                self.client.change_message_visibility_batch(QueueUrl=self.url, Entries=entries)

    def dead_letter(self, message: QueueMessage, reason: str) -> bool:
        """Move a message to the DLQ (with the reason as an attribute); False when there is no DLQ."""
        dlq = self.lookup(self.dlq_name) if self.dlq_name else None
        if dlq is None:
            return False
        with aws_errors(f"SQS queue {self.dlq_name!r}"):
            self.client.send_message(
                QueueUrl=dlq,
                MessageBody=message.body or json.dumps(None),
                MessageAttributes={
                    "reason": {"DataType": "String", "StringValue": reason[:1000]},
                    "source_message_id": {"DataType": "String", "StringValue": message.id},
                },
            )
        return bool(self.delete({message.id: message.receipt}))
