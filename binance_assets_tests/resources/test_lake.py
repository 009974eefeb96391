"""The lake on S3 (moto server over HTTP): the same layout, markers and checks as on disk."""

import http.server
import threading
from datetime import timedelta

import boto3
import dagster as dg
import polars as pl
import pytest
from dagster_aws.s3 import S3Resource

from binance_assets.defs.klines.dataset import KLINES
from binance_assets.errors import ConfigurationError, NotRetryable, Transient
from binance_assets.lib.load import load_hours
from binance_assets.lib.partitions import parse_hour, to_ms
from binance_assets.resources.aws import AwsBusyError
from binance_assets.resources.clickhouse import ClickHouseWarehouse
from binance_assets.resources.lake import LakeResource
from binance_assets.resources.lake.stores import S3_READERS
from binance_assets_tests.harness import Pipeline, evaluations
from binance_assets_tests.s3_lake import BUCKET, LAKE_URL, REGION

HOURS = ("2024-02-29-21:00", "2024-02-29-22:00")


@pytest.fixture
def bucket(aws) -> str:
    boto3.client("s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    return BUCKET


def s3_objects(prefix: str) -> dict[str, bytes]:
    s3 = boto3.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]
    return {k.removeprefix(prefix): s3.get_object(Bucket=BUCKET, Key=k)["Body"].read() for k in keys}


def test_every_raw_and_clean_path_lands_in_s3_with_the_local_layout(bucket, stand_in, tmp_path, clickhouse_query):
    on_s3 = Pipeline(stand_in, tmp_path / "s3", symbols="BTCUSDT,ETHUSDT", lake_url=LAKE_URL)
    on_disk = Pipeline(stand_in, tmp_path / "disk", symbols="BTCUSDT,ETHUSDT")

    result = on_s3.materialize(HOURS[0], last=HOURS[1])  # raw → Parquet → ClickHouse, with every check
    files_only = dg.AssetSelection.assets("raw_klines", "klines_parquet").without_checks()
    on_disk.materialize(HOURS[0], last=HOURS[1], selection=files_only)

    local = {str(p.relative_to(on_disk.lake_dir)): p.read_bytes() for p in on_disk.lake_dir.rglob("*") if p.is_file()}
    remote = s3_objects("lake/")
    # raw + clean, 2 symbols, 2 hours, file + _SUCCESS; and the day's archive file of each symbol, kept as sent
    assert sorted(remote) == sorted(local) and len(local) == 2 * 2 * 2 * 2 + 2 * 3
    archived = sorted(LakeResource(url=LAKE_URL).store.paths_under("raw/klines_archive"))
    assert archived == sorted(p for p in local if p.startswith("raw/klines_archive/")) and len(archived) == 6
    for path, data in local.items():  # the same content; only the fetch time differs between the two runs
        if path.endswith((".json", ".zip", ".CHECKSUM")):
            assert remote[path] == data
        elif path.endswith(".parquet"):
            assert pl.read_parquet(remote[path]).drop("fetched_at").equals(pl.read_parquet(data).drop("fetched_at"))
    assert not on_s3.lake_dir.exists()  # nothing went to local disk
    for check in ("klines_complete", "klines_ohlc_valid", "klines_reconciled"):  # DuckDB and ClickHouse read S3 files
        assert all(e.passed for e in evaluations(result, check).values()) and len(evaluations(result, check)) == 2
    lake_path = result.asset_materializations_for_node("raw_klines")[0].metadata["lake_path"].value
    assert lake_path.startswith(f"{LAKE_URL}/raw/klines/symbol=BTCUSDT/")


def test_an_incomplete_folder_reads_as_missing_and_an_absent_object_as_none(bucket):
    lake = LakeResource(url=LAKE_URL)  # no S3Resource given: boto3 reads AWS_ENDPOINT_URL and the keys itself
    lake.write_partition("clean/x/file.bin", b"data", {"rows": 1})
    assert lake.read("clean/x/file.bin") == b"data" and lake.manifest("clean/x/file.bin") == {"rows": 1}

    assert sorted(lake.store.paths_under("clean")) == ["clean/x/_SUCCESS", "clean/x/file.bin"]  # lake paths

    lake.store.delete("clean/x/_SUCCESS")  # as if the writer died before its marker
    assert lake.read("clean/x/file.bin") is None
    assert lake.store.get("clean/nothing/here") is None


def test_a_missing_bucket_says_to_run_setup(aws):
    with pytest.raises(ConfigurationError, match="Bucket 'crypto' does not exist: run `binance-assets setup`"):
        LakeResource(url=LAKE_URL).store.put("raw/x/file.json", b"[]")


def test_an_unreachable_endpoint_names_the_variable_and_never_the_secret(aws, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "very-secret-value")
    s3 = S3Resource(endpoint_url="http://127.0.0.1:9", max_attempts=1, region_name=REGION)
    with pytest.raises(ConfigurationError, match="cannot reach http://127.0.0.1:9.*AWS_ENDPOINT_URL") as raised:
        LakeResource(url=LAKE_URL, s3=s3).store.get("raw/x/file.json")
    assert "very-secret-value" not in str(raised.value)


@pytest.mark.parametrize("url", ["s3://", "s3:///prefix-only"])
def test_a_malformed_s3_url_explains_the_format(url):
    with pytest.raises(ConfigurationError, match="expected s3://bucket or s3://bucket/prefix"):
        LakeResource(url=url).store


def test_orders_land_in_s3_too_and_pass_their_checks(bucket, stand_in, tmp_path, credentials):
    hour_ms = to_ms(parse_hour(HOURS[0]))
    stand_in.generate_orders("BTCUSDT", hour_ms, hour_ms + 3_600_000, 300, seed=3)
    on_s3 = Pipeline(stand_in, tmp_path, lake_url=LAKE_URL)

    result = on_s3.materialize(HOURS[0], group="orders", **credentials)  # raw → Parquet → ClickHouse, checked

    folder = "orders/symbol=BTCUSDT/year=2024/month=02/day=29/hour=21"
    assert {"raw/" + folder + "/orders.json", f"clean/{folder}/orders.parquet"} <= set(s3_objects("lake/"))
    assert all(e.passed for e in result.get_asset_check_evaluations()) and result.get_asset_check_evaluations()
    assert not on_s3.lake_dir.exists()


class SlowDown(http.server.BaseHTTPRequestHandler):
    """S3 under too many requests: every call answers 503 SlowDown, as S3 does."""

    def answer(self) -> None:
        body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
        self.send_response(503)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_DELETE = do_HEAD = answer

    def log_message(self, *args) -> None:
        pass


def test_a_throttling_s3_is_transient_and_retried_by_the_step(aws):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowDown)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        s3 = S3Resource(endpoint_url=f"http://127.0.0.1:{server.server_port}", max_attempts=1, region_name=REGION)
        with pytest.raises(AwsBusyError) as throttled:
            LakeResource(url=LAKE_URL, s3=s3).store.put("raw/x/file.json", b"[]")
    finally:
        server.shutdown()
    assert isinstance(throttled.value, Transient) and not isinstance(throttled.value, NotRetryable)
    assert str(throttled.value).startswith(
        "Lake s3://crypto/lake/raw/x/file.json: AWS is throttling or unavailable (SlowDown) even after botocore's retries"
    )


class InFlight:
    """Holds the first ``parties`` S3 GETs of a client until that many are in flight at once (boto3's
    own event hooks, on a real client talking to moto): reading one file at a time never gets there
    and fails after ``timeout_s`` instead."""

    def __init__(self, client, parties: int, timeout_s: float = 30):
        self.barrier = threading.Barrier(parties, timeout=timeout_s)
        self.held = 0
        self.lock = threading.Lock()
        client.meta.events.register("before-send.s3.GetObject", self.hold)

    def hold(self, **_):
        with self.lock:
            self.held += 1
            waiting = self.held <= self.barrier.parties
        if waiting:
            self.barrier.wait()


def test_a_range_load_from_s3_reads_its_files_concurrently(bucket, stand_in, tmp_path):
    first, last = "2024-02-29-00:00", "2024-02-29-11:00"
    on_s3 = Pipeline(stand_in, tmp_path, symbols="BTCUSDT,ETHUSDT", lake_url=LAKE_URL)
    on_s3.materialize(
        first, last=last, selection=dg.AssetSelection.assets("raw_klines", "klines_parquet").without_checks()
    )
    lake, warehouse = LakeResource(url=LAKE_URL), ClickHouseWarehouse(url=on_s3.clickhouse_url, database="binance")
    in_flight = InFlight(lake.store.client, parties=S3_READERS // 2)
    hours = [parse_hour(first) + timedelta(hours=h) for h in range(12)]

    result = load_hours(dg.build_asset_context(), lake, warehouse, KLINES, ["BTCUSDT", "ETHUSDT"], hours)

    assert result.metadata["dagster/row_count"] == 2 * 12 * 60
    assert in_flight.held > S3_READERS // 2  # every file's marker and body: more GETs than were held
