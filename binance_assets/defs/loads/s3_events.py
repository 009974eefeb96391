"""S3 event notifications, parsed: which objects were created, and which file version each one is.

Bodies are S3's own event JSON (S3 → SQS), or the same wrapped in an SNS envelope (S3 → SNS → SQS).
S3 form-encodes object keys in events (``/`` → ``%2F``, space → ``+``): ``unquote_plus`` undoes it.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote_plus

TEST_EVENT = "s3:TestEvent"


class PoisonMessage(ValueError):
    """A body that is not an S3 notification: it goes to the dead-letter queue."""


@dataclass(frozen=True)
class ObjectCreated:
    bucket: str
    key: str
    etag: str
    # S3's per-key ``sequencer`` orders PUTs of one key; emulators without it give the event time.
    # Either way a re-upload differs from a redelivery of the same notification.
    version: str
    landed_at: float | None = None  # epoch seconds by S3's clock: when the object became readable

    @property
    def identity(self) -> str:
        """Short digest of (bucket, key, ETag, version): equal for duplicates, new for a re-upload."""
        raw = "\0".join((self.bucket, self.key, self.etag, self.version))
        return hashlib.sha256(raw.encode()).hexdigest()[:20]


def _record(record: dict) -> ObjectCreated | None:
    if record.get("eventSource") != "aws:s3" or not str(record.get("eventName", "")).startswith("ObjectCreated:"):
        return None  # another event type (e.g. ObjectRemoved) sent to this queue: not ours to load
    try:
        s3 = record["s3"]
        obj = s3["object"]
        return ObjectCreated(
            bucket=s3["bucket"]["name"],
            key=unquote_plus(obj["key"]),
            etag=str(obj.get("eTag", "")).strip('"'),
            version=str(obj.get("sequencer") or obj.get("versionId") or record.get("eventTime", "")),
            landed_at=_epoch(record.get("eventTime")),
        )
    except (KeyError, TypeError) as error:
        raise PoisonMessage(f"S3 record without {error}") from None


def _epoch(iso: str | None) -> float | None:
    try:
        return datetime.fromisoformat(iso).timestamp() if iso else None
    except (TypeError, ValueError):
        return None  # only used to skip a redundant load: without it the file is simply loaded


def parse_body(body: str) -> list[ObjectCreated] | None:
    """The objects a message announces; None for S3's ``s3:TestEvent``. Raises ``PoisonMessage``."""
    try:
        message = json.loads(body)
    except (json.JSONDecodeError, TypeError) as error:
        raise PoisonMessage(f"body is not JSON ({error})") from None
    if isinstance(message, dict) and message.get("Type") == "Notification" and isinstance(message.get("Message"), str):
        return parse_body(message["Message"])  # SNS envelope
    if not isinstance(message, dict):
        raise PoisonMessage(f"body is JSON {type(message).__name__}, not an S3 event object")
    if message.get("Event") == TEST_EVENT:
        return None
    records = message.get("Records")
    if not isinstance(records, list):
        raise PoisonMessage("body has no 'Records' list: not an S3 event notification")
    created = []
    for record in records:
        if not isinstance(record, dict):
            raise PoisonMessage("a record is not a JSON object")
        parsed = _record(record)
        if parsed is not None:
            created.append(parsed)
    return created
