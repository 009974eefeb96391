"""Faults of S3 and SQS (moto server behind a fault-injecting proxy) on the way from the lake to
ClickHouse, and bad messages: a poison body, a duplicate notification. After each: every hour
exact or visibly failed, one row per key, no notification lost."""

import json

import dagster as dg
import pytest

from binance_assets.resources.sqs import NotificationQueue
from binance_assets_tests.harness import klines_outcomes
from binance_assets_tests.s3_lake import S3Flow

FIRST, LAST = "2024-02-29-00:00", "2024-02-29-02:00"
FILES = dg.AssetSelection.assets("raw_klines", "klines_parquet").without_checks()
# boto3 retries per call here (dagster-aws' default is 5, with backoff of up to 20 s): a fault is
# ridden out or fails its call within seconds, and this many errors in a row fail a call for good.
RETRIES = 1
FAILS_A_CALL = RETRIES + 1


@pytest.fixture
def flow(faulty_aws, s3_flow) -> S3Flow:
    """The S3 flow, reaching moto through the fault-injecting proxy."""
    s3_flow.pipeline.aws_retries = RETRIES
    s3_flow.queue = NotificationQueue(wait_s=1, max_attempts=RETRIES)
    return s3_flow


def write(flow: S3Flow, **options) -> dg.ExecuteInProcessResult:
    return flow.pipeline.materialize(FIRST, last=LAST, selection=FILES, **options)


def outcomes(flow: S3Flow) -> set[str]:
    return set(klines_outcomes(flow.pipeline, flow.pipeline.instance, FIRST, LAST).values())


def clean_puts(method: str, path: str, operation: str) -> bool:
    return method == "PUT" and "/clean/" in path


def test_a_throttled_s3_write_is_ridden_out(faulty_aws, flow):
    s3_flow = flow
    faulty_aws.fail(RETRIES, 503, "SlowDown", when=clean_puts)

    assert write(s3_flow).success
    assert faulty_aws.injected == RETRIES
    assert s3_flow.drain() == 1  # one range run for the three hours
    assert outcomes(s3_flow) == {"exact"}


def test_s3_failing_a_write_past_boto3s_retries_is_ridden_out_by_the_step_retry(faulty_aws, flow):
    s3_flow = flow
    faulty_aws.fail(FAILS_A_CALL, 500, "InternalError", when=clean_puts)

    result = write(s3_flow)

    retried = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    assert [e.step_key for e in retried] == ["klines_parquet"]  # STORAGE_RETRY_POLICY, named and logged
    assert "InternalError" in str(retried[0].event_specific_data.error)
    assert s3_flow.drain() == 1
    assert outcomes(s3_flow) == {"exact"}


def test_s3_failing_the_load_past_boto3s_retries_is_ridden_out_by_the_step_retry(faulty_aws, flow):
    s3_flow = flow
    assert write(s3_flow).success
    faulty_aws.fail(
        FAILS_A_CALL, 500, "InternalError", when=lambda method, path, op: method == "GET" and "/clean/" in path
    )

    assert s3_flow.drain() == 1  # one load run: its step failed once, then read every file
    assert faulty_aws.injected == FAILS_A_CALL
    assert outcomes(s3_flow) == {"exact"}


def test_sqs_failing_a_tick_loses_no_notification(faulty_aws, flow):
    s3_flow = flow
    assert write(s3_flow).success
    faulty_aws.fail(FAILS_A_CALL, 500, "InternalError", when=lambda method, path, op: op.endswith("ReceiveMessage"))

    try:
        s3_flow.tick()
        raise AssertionError("the tick should have failed")
    except Exception as error:  # the daemon records the tick as failed and ticks again
        assert "ReceiveMessage" in str(error)

    assert s3_flow.drain() == 1
    assert outcomes(s3_flow) == {"exact"}


def test_a_poison_body_and_a_duplicate_notification_leave_every_hour_exact(s3_flow):
    assert write(s3_flow).success
    duplicate = next(
        m["Body"]
        for m in s3_flow.queue.client.receive_message(
            QueueUrl=s3_flow.queue.url, MaxNumberOfMessages=10, VisibilityTimeout=0
        )["Messages"]
        if "Records" in m["Body"]
    )
    s3_flow.send(duplicate)
    s3_flow.send("{not json")

    assert s3_flow.drain() == 1  # the duplicate is loaded once

    assert [m["Body"] for m in s3_flow.dead_letters()] == ["{not json"]
    assert outcomes(s3_flow) == {"exact"}
    json.loads(duplicate)  # it was a real notification
