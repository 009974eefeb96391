"""`binance-assets setup`: bucket, queues, DLQ, notification and ClickHouse schema — idempotently."""

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import clickhouse_connect
import pytest

from binance_assets.cli import main
from binance_assets.setup import NOTIFICATION_ID, dataset_tables
from binance_assets_tests.s3_lake import BUCKET, LAKE_URL

TABLES = [table.name for table in dataset_tables()]

SETUP = str(Path(sys.executable).parent / "binance-assets")
CLEAN_PARQUET = "lake/clean/klines/symbol=BTCUSDT/year=2024/month=02/day=29/hour=00/klines.parquet"


@pytest.fixture
def setup_env(aws, tmp_path, monkeypatch) -> dict:
    monkeypatch.setenv("LAKE_URL", LAKE_URL)
    monkeypatch.setenv("CLICKHOUSE_URL", f"chdb://{tmp_path / 'clickhouse'}")
    return dict(os.environ)


def receive_all(sqs, url: str) -> list[dict]:
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])


def test_setup_creates_everything_then_finds_everything(setup_env, capsys, tmp_path):
    first = subprocess.run([SETUP, "setup"], env=setup_env, capture_output=True, text=True, timeout=120)

    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "created  bucket s3://crypto",
        "created  queue klines-notifications-dlq",
        "created  queue klines-notifications",
        "created  redrive to klines-notifications-dlq after 3 receives, S3 send policy on klines-notifications",
        "created  notification s3:ObjectCreated:* s3://crypto/lake/clean/*.parquet → klines-notifications",
        f"ClickHouse at chdb://{tmp_path / 'clickhouse'}:",
        "created  ClickHouse database binance",
        *(f"created  ClickHouse table binance.{table}" for table in TABLES),
        f"setup complete: {6 + len(TABLES)} change(s)",
    ]

    assert main(["setup"]) == 0  # again: nothing changes
    second = capsys.readouterr().out.splitlines()
    header, done = second.pop(5), second.pop()
    assert header.startswith("ClickHouse at") and done == "setup complete: everything already existed"
    assert [line.split()[0] for line in second] == ["exists"] * (6 + len(TABLES))

    sqs, s3 = boto3.client("sqs"), boto3.client("s3")
    queue_url = sqs.get_queue_url(QueueName="klines-notifications")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    dlq_url = sqs.get_queue_url(QueueName="klines-notifications-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}
    [statement] = json.loads(attributes["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"} and statement["Resource"] == attributes["QueueArn"]
    [notification] = s3.get_bucket_notification_configuration(Bucket=BUCKET)["QueueConfigurations"]
    assert notification["Id"] == NOTIFICATION_ID and notification["Events"] == ["s3:ObjectCreated:*"]
    client = clickhouse_connect.get_client(dsn=setup_env["CLICKHOUSE_URL"])
    try:
        tables = client.query("SELECT name FROM system.tables WHERE database = 'binance'").result_rows
        assert {row[0] for row in tables} == set(TABLES)
    finally:
        client.close()


def test_the_notification_announces_clean_parquet_only_and_the_redrive_parks_unprocessed_messages(setup_env):
    assert main(["setup"]) == 0
    sqs, s3 = boto3.client("sqs"), boto3.client("s3")
    queue_url = sqs.get_queue_url(QueueName="klines-notifications")["QueueUrl"]
    dlq_url = sqs.get_queue_url(QueueName="klines-notifications-dlq")["QueueUrl"]
    [test_event] = receive_all(sqs, queue_url)  # S3 checks a new notification with a test event
    assert json.loads(test_event["Body"])["Event"] == "s3:TestEvent"
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=test_event["ReceiptHandle"])

    for key in (
        CLEAN_PARQUET.replace("klines.parquet", "_SUCCESS"),
        CLEAN_PARQUET.replace("clean", "raw"),
        CLEAN_PARQUET,
    ):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")

    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=0)[
        "Messages"
    ]
    assert [r["s3"]["object"]["key"] for m in received for r in json.loads(m["Body"])["Records"]] == [
        CLEAN_PARQUET.replace("/", "%2F").replace("=", "%3D")  # S3 form-encodes keys in events
    ]
    for _ in range(2):  # received three times in all, never deleted (say every attempt to process it failed)
        sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1, VisibilityTimeout=0)
    assert receive_all(sqs, queue_url) == []
    assert [m["MessageId"] for m in receive_all(sqs, dlq_url)] == [received[0]["MessageId"]]


def test_setup_keeps_other_notifications_and_repairs_its_own(setup_env, capsys):
    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": os.environ["AWS_REGION"]})
    other_arn = sqs.get_queue_attributes(
        QueueUrl=sqs.create_queue(QueueName="someone-elses")["QueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    stale = {"Id": NOTIFICATION_ID, "QueueArn": other_arn, "Events": ["s3:ObjectCreated:Put"]}
    theirs = {"Id": "theirs", "QueueArn": other_arn, "Events": ["s3:ObjectRemoved:*"]}
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET, NotificationConfiguration={"QueueConfigurations": [stale, theirs]}
    )

    assert main(["setup"]) == 0

    out = capsys.readouterr().out
    assert "exists   bucket s3://crypto" in out and "updated  notification" in out
    configurations = {
        c["Id"]: c for c in s3.get_bucket_notification_configuration(Bucket=BUCKET)["QueueConfigurations"]
    }
    assert configurations["theirs"]["Events"] == ["s3:ObjectRemoved:*"]
    assert configurations[NOTIFICATION_ID]["QueueArn"].endswith(":klines-notifications")


def test_with_a_local_lake_setup_only_creates_the_clickhouse_schema(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LAKE_URL", str(tmp_path / "lake"))
    monkeypatch.setenv("CLICKHOUSE_URL", f"chdb://{tmp_path / 'clickhouse'}")

    assert main(["setup"]) == 0

    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"skipped  S3 bucket, SQS queues and notification: the lake {tmp_path / 'lake'} is local"
    assert "created  ClickHouse table binance.klines" in out


def test_an_unreachable_endpoint_is_a_clear_error_not_a_traceback(setup_env, capsys, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")

    assert main(["setup"]) == 2

    assert "cannot reach http://127.0.0.1:9/crypto. Check AWS_ENDPOINT_URL" in capsys.readouterr().err
