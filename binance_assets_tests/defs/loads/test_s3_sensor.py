"""s3_parquet_sensor: moto server (S3 + SQS over HTTP), a persistent Dagster instance, chdb.

Each tick is the real sensor definition evaluated with ``build_sensor_context``; the test plays the
daemon's part by running the requested runs tagged with their run keys (test_s3_sensor_daemon.py
runs the daemon's own tick path).
"""

import json
import time

import dagster as dg
import polars as pl
import pytest

from binance_assets.lib.partitions import parse_hour
from binance_assets.resources.lake import LakeResource
from binance_assets.resources.lake.layout import clean_file
from binance_assets.resources.sqs import NotificationQueue
from binance_assets_tests.s3_lake import BUCKET, LAKE_URL, S3Flow, object_created

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
KLINES_PER_HOUR = 60


def one_row_per_key(clickhouse_query) -> tuple[int, int]:
    return clickhouse_query("SELECT count(), uniqExact(trading_pair, open_time) FROM binance.klines FINAL")[0]


def write_parquet(flow: S3Flow, first: str, last: str | None = None, **overrides) -> None:
    files = dg.AssetSelection.assets("raw_klines", "klines_parquet").without_checks()
    flow.pipeline.materialize(first, last=last, selection=files, **overrides)


def peek_body(flow: S3Flow) -> str:
    """A notification body as S3 sent it, left in the queue (for replaying it as a duplicate)."""
    for _ in range(10):
        answer = flow.queue.client.receive_message(QueueUrl=flow.queue.url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        for message in answer.get("Messages", []):
            if "Records" in message["Body"]:
                return message["Body"]
    raise AssertionError("no S3 event in the queue")


def test_parquet_landing_in_s3_is_loaded_in_as_few_runs_as_possible(s3_flow, clickhouse_query):
    write_parquet(s3_flow, "2024-02-29-00:00", "2024-02-29-02:00")
    write_parquet(s3_flow, "2024-02-29-05:00")

    first = s3_flow.tick()

    # 8 files (2 symbols × 4 hours): a range run for the 3 contiguous hours, one run for the 4th.
    assert [(r.partition_key, r.tags.get(RANGE_START), r.tags.get(RANGE_END)) for r in first.run_requests] == [
        (None, "2024-02-29-00:00", "2024-02-29-02:00"),
        ("2024-02-29-05:00", None, None),
    ]
    assert all(r.asset_selection == [dg.AssetKey("clickhouse_klines")] for r in first.run_requests)
    assert {c.name for r in first.run_requests for c in r.asset_check_keys} == {
        "klines_reconciled",
        "klines_stream_agrees",  # the load replaces any streamed candles: said where they differed
    }
    assert s3_flow.queue_depth() == (0, 8)  # the test event is gone; the 8 wait for their runs

    s3_flow.record(first.run_requests)
    assert one_row_per_key(clickhouse_query) == (8 * KLINES_PER_HOUR, 8 * KLINES_PER_HOUR)

    second = s3_flow.tick()  # the runs are recorded: their messages are deleted
    assert second.run_requests == [] and s3_flow.queue_depth() == (0, 0)
    third = s3_flow.tick()
    assert third.run_requests == [] and "No new clean Parquet" in third.skip_message


def test_a_duplicated_notification_does_not_load_again(s3_flow, clickhouse_query):
    write_parquet(s3_flow, "2024-02-29-00:00")
    duplicate = peek_body(s3_flow)
    s3_flow.send(duplicate)  # SQS delivers at least once: the same event twice in one tick

    first = s3_flow.tick()
    assert len(first.run_requests) == 1
    s3_flow.record(first.run_requests)
    s3_flow.tick()
    assert s3_flow.queue_depth() == (0, 0)

    s3_flow.send(duplicate)  # and again after the load
    late = s3_flow.tick()
    assert late.run_requests == [] and s3_flow.queue_depth() == (0, 0)

    s3_flow.record(first.run_requests)  # even a repeated load run (a retry) leaves one row per key
    assert one_row_per_key(clickhouse_query) == (2 * KLINES_PER_HOUR, 2 * KLINES_PER_HOUR)


def test_a_reuploaded_file_loads_again_and_the_warehouse_follows_the_lake(s3_flow, clickhouse_query):
    write_parquet(s3_flow, "2024-02-29-00:00")
    s3_flow.record(s3_flow.tick().run_requests)
    s3_flow.tick()

    # Another producer rewrites BTCUSDT's hour: corrected close prices, observed later (new ETag).
    lake = LakeResource(url=LAKE_URL)
    path = clean_file("klines", "BTCUSDT", parse_hour("2024-02-29-00:00"))
    frame = lake.read_parquet(path).with_columns(
        close_price=pl.col("close_price") + pl.lit(1).cast(pl.Decimal(38, 8)),
        fetched_at=pl.col("fetched_at") + pl.duration(minutes=5),
    )
    lake.write_parquet(path, frame, {"rows": frame.height})

    again = s3_flow.tick()
    assert len(again.run_requests) == 1 and again.run_requests[0].partition_key == "2024-02-29-00:00"
    s3_flow.record(again.run_requests)
    s3_flow.tick()

    assert one_row_per_key(clickhouse_query) == (2 * KLINES_PER_HOUR, 2 * KLINES_PER_HOUR)
    loaded = clickhouse_query("SELECT sum(close_price) FROM binance.klines FINAL WHERE trading_pair = 'BTCUSDT'")[0][0]
    assert loaded == frame["close_price"].sum()
    assert s3_flow.queue_depth() == (0, 0)


def test_test_events_and_files_outside_the_loadable_datasets_are_deleted_without_a_run(s3_flow):
    client = s3_flow.lake.store.client
    hour = "year=2024/month=02/day=29/hour=00"
    # Pass the bucket's clean/*.parquet filter, yet are nothing to load:
    for key in (
        f"lake/clean/trades/symbol=BTCUSDT/{hour}/trades.parquet",  # no load asset for this dataset
        f"lake/clean/klines/symbol=DOGEUSDT/{hour}/klines.parquet",  # symbol not configured
        "lake/clean/klines/notes.parquet",  # not a partition path
        "lake/clean/klines/symbol=BTCUSDT/year=2017/month=12/day=31/hour=23/klines.parquet",  # before the partitions
        f"lake/clean/klines/symbol=BTCUSDT/{hour}/klines copy.parquet",  # not the partition's file
    ):
        client.put_object(Bucket=BUCKET, Key=key, Body=b"PAR1")
    # Events only another producer or a wider notification would send:
    s3_flow.send(object_created(f"lake/raw/klines/symbol=BTCUSDT/{hour}/klines.parquet"))
    s3_flow.send(object_created(f"lake/clean/klines/symbol=BTCUSDT/{hour}/klines.parquet", bucket="elsewhere"))
    s3_flow.send(object_created(f"other/clean/klines/symbol=BTCUSDT/{hour}/klines.parquet"))
    removed = object_created(f"lake/clean/klines/symbol=BTCUSDT/{hour}/klines.parquet")
    removed["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    s3_flow.send(removed)
    s3_flow.send({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": BUCKET})

    tick = s3_flow.tick()

    assert tick.run_requests == []
    assert s3_flow.queue_depth() == (0, 0)  # 1 + 1 test events and 9 events, all deleted
    assert s3_flow.dead_letters() == []


POISON = [
    "not json at all",
    "[1, 2, 3]",
    json.dumps({"Records": {"not": "a list"}}),
    json.dumps({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {}}]}),
]


def test_poison_bodies_go_to_the_dead_letter_queue_without_blocking_the_rest(s3_flow, clickhouse_query):
    for body in POISON:
        s3_flow.send(body)
    write_parquet(s3_flow, "2024-02-29-00:00")

    tick = s3_flow.tick()

    assert len(tick.run_requests) == 1  # the good files are requested in the same tick
    dead = s3_flow.dead_letters()
    assert sorted(m["Body"] for m in dead) == sorted(POISON)
    assert all(
        m["MessageAttributes"]["reason"]["StringValue"] and m["MessageAttributes"]["source_message_id"] for m in dead
    )
    s3_flow.record(tick.run_requests)
    s3_flow.tick()
    assert s3_flow.queue_depth() == (0, 0)
    assert one_row_per_key(clickhouse_query) == (2 * KLINES_PER_HOUR, 2 * KLINES_PER_HOUR)


def test_without_a_dead_letter_queue_poison_is_left_to_the_redrive_policy(s3_flow, capfd):
    s3_flow.queue = NotificationQueue(wait_s=1, dlq_name="no-such-dlq")
    s3_flow.send("{truncated")

    tick = s3_flow.tick()

    assert tick.run_requests == []
    assert s3_flow.queue_depth() == (0, 1)  # hidden, not deleted: SQS's redrive policy decides
    logged = capfd.readouterr().err
    assert "DLQ 'no-such-dlq' does not exist: left to the queue's redrive policy" in logged


def test_an_hour_not_yet_complete_for_every_symbol_waits(s3_flow, clickhouse_query):
    write_parquet(s3_flow, "2024-02-29-00:00", symbols="BTCUSDT")  # ETHUSDT's file is not there yet

    waiting = s3_flow.tick()

    assert waiting.run_requests == [] and s3_flow.queue_depth() == (0, 1)  # deferred, not deleted
    write_parquet(s3_flow, "2024-02-29-00:00")  # both symbols: the hour is complete
    ready = s3_flow.tick()
    assert [r.partition_key for r in ready.run_requests] == ["2024-02-29-00:00"]
    s3_flow.record(ready.run_requests)
    assert one_row_per_key(clickhouse_query) == (2 * KLINES_PER_HOUR, 2 * KLINES_PER_HOUR)


def test_runs_that_were_never_recorded_are_requested_again(aws, stand_in, tmp_path, dagster_instance):
    from binance_assets_tests.harness import Pipeline

    flow = S3Flow(Pipeline(stand_in, tmp_path, lake_url=LAKE_URL, instance=dagster_instance), visibility_timeout_s=2)
    flow.setup()
    write_parquet(flow, "2024-02-29-00:00")

    lost = flow.tick()  # say the daemon died before creating the run
    time.sleep(2.5)  # the messages become visible again
    retried = flow.tick()

    assert [r.run_key for r in retried.run_requests] == [r.run_key for r in lost.run_requests]
    flow.record(retried.run_requests)
    flow.tick()
    assert flow.queue_depth() == (0, 0)


def test_a_tick_reads_a_bounded_batch_and_stays_fast(aws, stand_in, tmp_path, dagster_instance):
    from binance_assets_tests.harness import Pipeline

    flow = S3Flow(Pipeline(stand_in, tmp_path, lake_url=LAKE_URL, instance=dagster_instance), max_messages=10)
    flow.setup()
    for minute in range(24):
        flow.send(object_created(f"lake/clean/unknown/x{minute}.parquet"))

    durations = []
    for _ in range(3):
        started = time.perf_counter()
        flow.tick()
        durations.append(time.perf_counter() - started)

    assert flow.queue_depth() == (0, 0)  # 25 messages (with the test event) in 10 + 10 + 5
    assert max(durations) < 10, durations


@pytest.mark.parametrize("cursor", ["not json", json.dumps({"held": "nope"})])
def test_an_unreadable_cursor_starts_afresh(s3_flow, cursor):
    write_parquet(s3_flow, "2024-02-29-00:00")
    s3_flow.cursor = cursor

    assert len(s3_flow.tick().run_requests) == 1


def test_every_hourly_dataset_is_loaded_by_its_own_asset(s3_flow):
    hour = parse_hour("2024-02-29-03:00")
    for dataset in ("orders", "order_book"):  # any producer's files: the sensor maps them by convention
        for symbol in ("BTCUSDT", "ETHUSDT"):
            s3_flow.lake.write_parquet(clean_file(dataset, symbol, hour), pl.DataFrame({"x": [1]}), {"rows": 1})

    tick = s3_flow.tick()

    assert sorted((r.asset_selection[0].to_user_string(), r.partition_key) for r in tick.run_requests) == [
        ("clickhouse_order_book", "2024-02-29-03:00"),
        ("clickhouse_orders", "2024-02-29-03:00"),
    ]


def test_a_file_already_loaded_by_the_run_that_wrote_it_is_not_loaded_again(s3_flow, clickhouse_query):
    write_parquet(s3_flow, "2024-02-29-00:00")
    time.sleep(1.5)  # the load step begins after the files landed (a step subprocess takes longer to start)
    s3_flow.pipeline.materialize("2024-02-29-00:00", selection=["clickhouse_klines"])  # e.g. the hourly klines job

    tick = s3_flow.tick()

    assert tick.run_requests == [] and s3_flow.queue_depth() == (0, 0)
    assert one_row_per_key(clickhouse_query) == (2 * KLINES_PER_HOUR, 2 * KLINES_PER_HOUR)


def test_a_load_that_began_before_the_file_landed_does_not_count(s3_flow):
    s3_flow.pipeline.materialize("2024-02-29-00:00", selection=dg.AssetSelection.groups("klines"))  # raw → ClickHouse
    time.sleep(1.5)
    write_parquet(s3_flow, "2024-02-29-00:00", symbols="BTCUSDT")  # rewritten after that load began

    assert [r.partition_key for r in s3_flow.tick().run_requests] == ["2024-02-29-00:00"]


def test_a_backfills_notifications_of_files_its_run_loaded_are_deleted_without_a_load(s3_flow, clickhouse_query):
    # A CLI range backfill of the whole group writes the Parquet, then loads it: its load step starts
    # seconds after the Parquet landed (a new step process), later than S3's clock margin.
    write_parquet(s3_flow, "2024-02-28-18:00", "2024-02-28-23:00")
    time.sleep(1.5)
    s3_flow.pipeline.materialize("2024-02-28-18:00", last="2024-02-28-23:00", selection=["clickhouse_klines"])

    tick = s3_flow.tick()  # 12 notifications (6 hours, 2 symbols) and the test event, in one tick

    assert tick.run_requests == []
    assert s3_flow.queue_depth() == (0, 0)
    assert one_row_per_key(clickhouse_query) == (12 * KLINES_PER_HOUR, 12 * KLINES_PER_HOUR)


def test_scattered_notifications_of_a_backfill_load_in_one_run_with_the_complete_hours_between(
    s3_flow, clickhouse_query
):
    write_parquet(s3_flow, "2024-02-29-00:00", "2024-02-29-05:00")
    write_parquet(s3_flow, "2024-02-29-08:00")  # 06 and 07 are not in the lake: a gap no run can cover
    s3_flow.queue.client.purge_queue(QueueUrl=s3_flow.queue.url)
    hour_key = "lake/clean/klines/symbol={}/year=2024/month=02/day=29/hour={:02d}/klines.parquet"

    def announce(hours):  # SQS hands out a backlog in no strict order: a tick sees some of its hours
        for hour in hours:
            for symbol in ("BTCUSDT", "ETHUSDT"):
                s3_flow.send(object_created(hour_key.format(symbol, hour), etag=f"{symbol}{hour}"))

    announce([0, 2, 5, 8])
    first = s3_flow.tick()

    assert [(r.tags.get(RANGE_START), r.tags.get(RANGE_END), r.partition_key) for r in first.run_requests] == [
        ("2024-02-29-00:00", "2024-02-29-05:00", None),
        (None, None, "2024-02-29-08:00"),
    ]
    s3_flow.record(first.run_requests)
    announce([1, 3, 4])  # the rest of the backlog: already loaded by that range run
    later = s3_flow.tick()
    assert later.run_requests == [] and s3_flow.queue_depth() == (0, 0)
    assert one_row_per_key(clickhouse_query) == (14 * KLINES_PER_HOUR, 14 * KLINES_PER_HOUR)
