"""Fixtures for the S3 lake: moto server as a real S3 + SQS endpoint over HTTP on 127.0.0.1.

Nothing is patched in-process: the code under test reaches moto through ``AWS_ENDPOINT_URL`` like
it reaches LocalStack or AWS in production.
"""

import json
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote_plus

import dagster as dg
import pytest
import requests
from moto.server import ThreadedMotoServer

from binance_assets.definitions import defs
from binance_assets.defs.loads.s3_sensor import RUN_KEY_TAG, SENSOR_NAME, SENSOR_NAME_TAG
from binance_assets.resources.lake import LakeResource
from binance_assets.resources.sqs import NotificationQueue
from binance_assets.setup import setup_lake
from binance_assets_tests.harness import Pipeline

BUCKET = "crypto"
LAKE_URL = f"s3://{BUCKET}/lake"
REGION = "eu-west-1"


@pytest.fixture
def aws(monkeypatch) -> Iterator[str]:
    """A moto server on a free port; the standard AWS variables point at it for this test."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    requests.post(f"{endpoint}/moto-api/reset", timeout=5)  # moto's state is per process, not per server
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "SQS_QUEUE_NAME", "SQS_DLQ_NAME"):
        monkeypatch.delenv(name, raising=False)
    try:
        yield endpoint
    finally:
        server.stop()


@dataclass
class Fault:
    remaining: int
    status: int
    code: str
    matches: Callable[[str, str, str], bool]


class FaultyEndpoint:
    """An HTTP proxy in front of moto answering chosen requests with an AWS error instead (moto has no
    fault injection of its own): what S3 and SQS do when they are throttled or failing."""

    def __init__(self, target: str):
        self.target = target
        self.faults: list[Fault] = []
        self.injected = 0
        self._lock = threading.Lock()
        endpoint = self

        session = requests.Session()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, and "100 Continue" for boto3's uploads (else it waits 1 s)

            def log_message(self, *args) -> None:  # quiet
                pass

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fault = endpoint._take(self.command, self.path, self.headers.get("X-Amz-Target", ""))
                if fault is not None:
                    error = f"<Error><Code>{fault.code}</Code><Message>injected</Message></Error>".encode()
                    self.send_response(fault.status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(error)))
                    self.end_headers()
                    self.wfile.write(error)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                answer = session.request(
                    self.command, endpoint.target + self.path, headers=headers, data=body, allow_redirects=False
                )
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail(self, times: int, status: int, code: str, when: Callable[[str, str, str], bool]) -> None:
        """The next ``times`` requests for which ``when(method, path, operation)`` holds (operation: the
        ``X-Amz-Target`` of JSON APIs such as ``AmazonSQS.ReceiveMessage``, else "") get ``status``."""
        with self._lock:
            self.faults.append(Fault(times, status, code, when))

    def heal(self) -> None:
        with self._lock:
            self.faults.clear()

    def _take(self, method: str, path: str, operation: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.remaining > 0 and fault.matches(method, path, operation):
                    fault.remaining -= 1
                    self.injected += 1
                    return fault
        return None

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def faulty_aws(aws, monkeypatch) -> Iterator[FaultyEndpoint]:
    """The code under test reaches moto only through a ``FaultyEndpoint`` (AWS_ENDPOINT_URL)."""
    endpoint = FaultyEndpoint(aws)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint.url)
    try:
        yield endpoint
    finally:
        endpoint.stop()


@pytest.fixture
def dagster_instance() -> Iterator[dg.DagsterInstance]:
    """A persistent (SQLite, temp dir) instance: sensors keep cursors and run keys on it."""
    with dg.instance_for_test() as instance:
        yield instance


class S3Flow:
    """The S3 lake, its notification queue and the sensor, driven tick by tick."""

    def __init__(self, pipeline: Pipeline, **queue_settings):
        self.pipeline = pipeline
        self.defs = defs  # the S3 sensor is defined whatever the lake; its default status follows LAKE_URL
        self.queue = NotificationQueue(wait_s=1, **queue_settings)
        self.lake = LakeResource(url=LAKE_URL)
        self.cursor: str | None = None

    def setup(self) -> None:
        list(setup_lake(self.lake.store, self.queue))

    def tick(self) -> "dg.SensorExecutionData":
        """One evaluation of the real sensor definition, keeping its cursor like the daemon does."""
        resources = {**self.pipeline.resources(), "notifications": self.queue}
        context = dg.build_sensor_context(
            instance=self.pipeline.instance, cursor=self.cursor, resources=resources, definitions=self.defs
        )
        with context:
            data = self.defs.resolve_sensor_def(SENSOR_NAME).evaluate_tick(context)
        self.cursor = data.cursor
        return data

    def record(self, requests: list[dg.RunRequest], raise_on_error: bool = True) -> None:
        """What the daemon does with a tick's run requests: a run per request, tagged with its run key."""
        for request in requests:
            tags = {RUN_KEY_TAG: request.run_key, SENSOR_NAME_TAG: SENSOR_NAME, **request.tags}
            start = tags.pop("dagster/asset_partition_range_start", None)
            end = tags.pop("dagster/asset_partition_range_end", None)
            selection = dg.AssetSelection.assets(*request.asset_selection) | dg.AssetSelection.checks(
                *request.asset_check_keys
            )
            self.pipeline.materialize(
                request.partition_key or start, last=end, selection=selection, tags=tags, raise_on_error=raise_on_error
            )

    def drain(self, raise_on_error: bool = True, most_ticks: int = 10) -> int:
        """Ticks, running what they request, until the queue is empty; returns the number of load runs."""
        runs = 0
        for _ in range(most_ticks):
            requests = self.tick().run_requests
            self.record(requests, raise_on_error)
            runs += len(requests)
            if not requests and self.queue_depth() == (0, 0):
                return runs
        raise AssertionError(f"the queue still holds {self.queue_depth()} (visible, in flight) messages")

    def queue_depth(self, name: str | None = None) -> tuple[int, int]:
        """(visible, in flight) messages of the queue (default: the notification queue)."""
        url = self.queue.lookup(name or self.queue.queue_name)
        attributes = self.queue.client.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def send(self, body: str | dict) -> None:
        self.queue.client.send_message(
            QueueUrl=self.queue.url, MessageBody=body if isinstance(body, str) else json.dumps(body)
        )

    def dead_letters(self) -> list[dict]:
        answer = self.queue.client.receive_message(
            QueueUrl=self.queue.lookup(self.queue.dlq_name), MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        )
        return answer.get("Messages", [])


@pytest.fixture
def s3_flow(aws, stand_in, tmp_path, dagster_instance) -> S3Flow:
    flow = S3Flow(Pipeline(stand_in, tmp_path, symbols="BTCUSDT,ETHUSDT", lake_url=LAKE_URL, instance=dagster_instance))
    flow.setup()
    return flow


def object_created(key: str, etag: str = "0123456789abcdef", bucket: str = BUCKET) -> dict:
    """An S3 notification body as S3 sends it (key form-encoded)."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventTime": "2024-03-01T00:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": bucket}, "object": {"key": quote_plus(key), "size": 1, "eTag": etag}},
            }
        ]
    }
