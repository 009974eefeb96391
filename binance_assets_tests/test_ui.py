"""The Dagster UI in a real browser: `dagster dev` on a temporary instance, the stand-in as the
exchange, headless Chromium driving the klines group from the asset graph to a successful run of
one hour, then a range of hours as one backfill run whose checks show a status for every hour.

Screenshots and dagster dev's log land in test-artifacts/ui/ (and the page at the moment of
failure, failure.png, when the test fails). Needs Debian's chromium (`apt-get install chromium`;
.ci/run does); without it the test fails and says so.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from binance_assets.lib.partitions import PARTITION_FORMAT, parse_hour, to_ms
from binance_assets_tests.harness import CHECK_STATUSES_QUERY, hour_ranges
from binance_stand_in import ExchangeStandIn

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts" / "ui"
DAGSTER = str(Path(sys.executable).parent / "dagster")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
KLINES_ASSETS = ("raw_klines", "klines_parquet", "clickhouse_klines")
KLINES_CHECKS = {"klines_complete", "klines_ohlc_valid", "klines_reconciled", "klines_stream_agrees"}
PARTITION_COUNT = re.compile(r"^[\d,]+ partitions$")
STARTUP_TIMEOUT_S = 150
RUN_TIMEOUT_S = 240
STOP_TIMEOUT_S = 30
# A process started from a non-interactive shell's background job inherits SIGINT (and so, in
# dagster dev, SIGTERM) ignored; restore the defaults so dagster dev shuts down on our signal.
WITH_DEFAULT_SIGNALS = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "signal.signal(signal.SIGTERM, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])"
)

# The market clock stays near real time so the partition picker lists the hour among recent ones.
MARKET_NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
HOUR = (MARKET_NOW - timedelta(hours=1)).strftime(PARTITION_FORMAT)  # closed on the market clock
# A range before it, as one run; its middle hour loses a candle, so its completeness check fails.
RANGE = [(MARKET_NOW - timedelta(hours=h)).strftime(PARTITION_FORMAT) for h in (4, 3, 2)]
PARTITIONS_START = (MARKET_NOW - timedelta(days=1)).strftime(PARTITION_FORMAT)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class DagsterDev:
    url: str
    home: Path
    log: Path
    process: subprocess.Popen

    def graphql(self, query: str, **variables) -> dict:
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": query, "variables": variables}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = json.load(response)
        assert "errors" not in body, body
        return body["data"]

    def assert_alive(self) -> None:
        if self.process.poll() is not None:
            pytest.fail(f"dagster dev exited with {self.process.returncode}:\n{self.log.read_text()[-5000:]}")


LOCATION_QUERY = """{ workspaceOrError { ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


def wait_until_loaded(dev: DagsterDev) -> None:
    """The webserver answers and the code location has loaded (not merely started loading)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        dev.assert_alive()
        try:
            entries = dev.graphql(LOCATION_QUERY)["workspaceOrError"]["locationEntries"]
            last = entries
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                [entry] = entries
                assert entry["locationOrLoadError"]["__typename"] == "RepositoryLocation", entry
                return
        except OSError as error:  # not listening yet
            last = repr(error)
        time.sleep(1)
    pytest.fail(f"dagster dev not ready after {STARTUP_TIMEOUT_S}s ({last}):\n{dev.log.read_text()[-5000:]}")


def stop(process: subprocess.Popen) -> None:
    """Ctrl-C for the whole process tree (webserver, daemon, code server, run workers), then SIGKILL."""
    group = process.pid  # start_new_session: the group outlives its leader
    os.killpg(group, signal.SIGINT)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(group, signal.SIGKILL)  # whatever outlived a clean shutdown
    except ProcessLookupError:
        pass
    process.wait(timeout=10)


@pytest.fixture
def exchange() -> Iterator[ExchangeStandIn]:
    with ExchangeStandIn(symbols=("BTCUSDT",), now_ms=to_ms(MARKET_NOW)) as stand_in:
        yield stand_in


@pytest.fixture
def artifacts() -> Path:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture
def dagster_dev(exchange, artifacts, tmp_path) -> Iterator[DagsterDev]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "BINANCE_API_URL": exchange.url,
        "BINANCE_ARCHIVE_URL": exchange.archive_url,
        "BINANCE_SYMBOLS": "BTCUSDT",
        "LAKE_URL": str(tmp_path / "lake"),
        "CLICKHOUSE_URL": f"chdb://{tmp_path / 'clickhouse'}",
        "PARTITIONS_START": PARTITIONS_START,
        "SCHEDULES_ENABLED": "false",
    }
    port = free_port()  # code servers talk over unix sockets: the webserver's is the only port
    log = tmp_path / "dagster-dev.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                WITH_DEFAULT_SIGNALS,
                DAGSTER,
                "dev",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-w",
                str(REPO / "workspace.yaml"),
            ],
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    dev = DagsterDev(f"http://127.0.0.1:{port}", home, log, process)
    try:
        wait_until_loaded(dev)
        yield dev
    finally:
        stop(process)
        shutil.copy(log, artifacts / "dagster-dev.log")


@pytest.fixture
def page() -> Iterator[Page]:  # before dagster_dev: a missing browser fails in a second
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install it with `apt-get install chromium` (.ci/run does).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(60_000)
            expect.set_options(timeout=30_000)  # a shared CI machine can take seconds to answer GraphQL
            yield page
        finally:
            browser.close()


@contextmanager
def screenshots(page: Page) -> Iterator:
    """``shot(name)`` saves a screenshot; on failure the page as it was is saved too."""

    def shot(name: str) -> None:
        page.screenshot(path=ARTIFACTS / f"{name}.png")

    try:
        yield shot
    except BaseException:
        page.screenshot(path=ARTIFACTS / "failure.png")
        raise


UI_RUNS_QUERY = """query UiRuns($partition: String!) { runsOrError(filter: {tags: [
    {key: "dagster/partition", value: $partition}, {key: "dagster/from_ui", value: "true"}]}) {
    ... on Runs { results { runId status } } } }"""


def runs_of(dev: DagsterDev, partition: str) -> list[dict]:
    return dev.graphql(UI_RUNS_QUERY, partition=partition)["runsOrError"]["results"]


def wait_for_the_run(dev: DagsterDev, partition: str) -> dict:
    """The one run launched from the UI for ``partition``, once it has finished."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        dev.assert_alive()
        runs = runs_of(dev, partition)
        assert len(runs) <= 1, runs
        if runs and runs[0]["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
            return runs[0]
        time.sleep(2)
    pytest.fail(f"The run of {partition} did not finish within {RUN_TIMEOUT_S}s: {runs_of(dev, partition)}")


@pytest.mark.ui
@pytest.mark.timeout(720)
def test_materialise_an_hour_then_a_range_of_the_klines_group_from_the_ui(page, exchange, dagster_dev):
    with screenshots(page) as shot:
        page.goto(f"{dagster_dev.url}/locations/binance_assets/asset-groups/klines")
        for asset in KLINES_ASSETS:
            expect(page.get_by_text(asset, exact=True).first).to_be_visible()
        expect(page.get_by_text(PARTITION_COUNT)).to_have_count(len(KLINES_ASSETS))  # nodes fully loaded
        shot("01-klines-asset-graph")

        page.get_by_role("button", name="Materialize all").click()
        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_text("Launch runs to materialize 3 assets")).to_be_visible()
        partitions = dialog.get_by_role("textbox").first  # its placeholder varies with the range shown
        partitions.fill(HOUR)
        partitions.press("Enter")
        expect(dialog.get_by_text("1 partition", exact=True)).to_be_visible()
        shot("02-partition-picker")
        dialog.get_by_role("button", name="Launch 1 run").click()
        expect(page.get_by_text("Launched run")).to_be_visible()

        run = wait_for_the_run(dagster_dev, HOUR)
        assert run["status"] == "SUCCESS", f"run {run['runId']} ended {run['status']}"
        page.goto(f"{dagster_dev.url}/runs/{run['runId']}")
        expect(page.get_by_text("Success", exact=True).first).to_be_visible()
        expect(page.get_by_text(f"partition: {HOUR}")).to_be_visible()
        expect(page.get_by_text("Succeeded (4)")).to_be_visible()  # raw, Parquet, load, the checks
        expect(page.get_by_text("RUN_SUCCESS", exact=True)).to_be_visible()  # the log has loaded to its end
        shot("03-run-succeeded")

        events = page.get_by_placeholder("Filter")
        events.fill("type:ASSET_CHECK_EVALUATION")
        events.press("Enter")
        for check in KLINES_CHECKS:
            expect(page.get_by_text(f"Check {check} succeeded for materialization")).to_be_visible()
        shot("04-check-results")

    assert_recorded_in_the_instance(dagster_dev.home, run["runId"])

    with screenshots(page) as shot:
        lost = to_ms(parse_hour(RANGE[1])) + 5 * 60_000
        exchange.remove_candles("BTCUSDT", [lost])
        backfill_run = launch_the_range(page, dagster_dev, shot)
        assert backfill_run["status"] == "SUCCESS", f"run {backfill_run['runId']} ended {backfill_run['status']}"

        page.goto(f"{dagster_dev.url}/assets/klines_parquet?view=checks&checkDetail=klines_complete")
        page.locator("button[role=tab]#partitions").click()  # the check's own partitions, not the asset's
        # Every hour of the one range run has its own status, beside the first run's hour.
        expect(page.get_by_text(f"Passed ({len(RANGE)})")).to_be_visible()
        expect(page.get_by_text("Failed (1)")).to_be_visible()
        shot("06-check-status-per-hour")

    checks = dagster_dev.graphql(CHECK_STATUSES_QUERY, path=["klines_parquet"])["assetNodeOrError"]
    by_check = {
        c["name"]: hour_ranges(c["partitionStatuses"]["ranges"]) for c in checks["assetChecksOrError"]["checks"]
    }
    assert by_check["klines_complete"] == {
        RANGE[0]: "SUCCEEDED",
        RANGE[1]: "FAILED",
        RANGE[2]: "SUCCEEDED",
        HOUR: "SUCCEEDED",
    }
    assert by_check["klines_ohlc_valid"] == dict.fromkeys([*RANGE, HOUR], "SUCCEEDED")


BACKFILL_RUNS_QUERY = """{ runsOrError(filter: {tags: [{key: "dagster/asset_partition_range_start", value: "%s"}]}) {
    ... on Runs { results { runId status } } } }"""


def launch_the_range(page: Page, dev: DagsterDev, shot) -> dict:
    """The range as a backfill from the group's *Materialize all*: one run (single-run backfill policy)."""
    page.goto(f"{dev.url}/locations/binance_assets/asset-groups/klines")
    expect(page.get_by_text(PARTITION_COUNT)).to_have_count(len(KLINES_ASSETS))
    page.get_by_role("button", name="Materialize all").click()
    dialog = page.get_by_role("dialog")
    partitions = dialog.get_by_role("textbox").first
    partitions.fill(f"[{RANGE[0]}...{RANGE[-1]}]")
    partitions.press("Enter")
    expect(dialog.get_by_text(f"{len(RANGE)} partitions", exact=True)).to_be_visible()
    shot("05-range-picker")
    dialog.get_by_role("button", name="Launch backfill").click()
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        dev.assert_alive()
        runs = dev.graphql(BACKFILL_RUNS_QUERY % RANGE[0])["runsOrError"]["results"]
        assert len(runs) <= 1, runs
        if runs and runs[0]["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
            return runs[0]
        time.sleep(2)
    pytest.fail(f"The backfill of {RANGE[0]}...{RANGE[-1]} did not finish within {RUN_TIMEOUT_S}s")


def assert_recorded_in_the_instance(home: Path, run_id: str) -> None:
    """What the pixels showed, from the instance's own storage."""

    def events(instance: dg.DagsterInstance, event_type: dg.DagsterEventType) -> list:
        records = instance.get_records_for_run(run_id, of_type=event_type).records
        return [record.event_log_entry.dagster_event.event_specific_data for record in records]

    with dg.DagsterInstance.from_config(str(home)) as instance:
        status = instance.get_run_by_id(run_id).status
        materialised = events(instance, dg.DagsterEventType.ASSET_MATERIALIZATION)
        evaluations = events(instance, dg.DagsterEventType.ASSET_CHECK_EVALUATION)

    assert status == dg.DagsterRunStatus.SUCCESS
    assets = sorted((m.materialization.asset_key.to_user_string(), m.materialization.partition) for m in materialised)
    assert assets == sorted((asset, HOUR) for asset in KLINES_ASSETS)
    assert {(e.check_name, e.partition, e.passed) for e in evaluations} == {(c, HOUR, True) for c in KLINES_CHECKS}
