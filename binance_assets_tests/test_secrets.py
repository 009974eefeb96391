"""The API key and secret never reach a log line, run metadata or config, a lake file or an error.

Runs the account pipeline through success, clock skew, retries and every credential refusal, then
scans everything those runs left behind: Python logging at DEBUG (python-binance, urllib3,
Dagster), the process's stdout/stderr, every event and run record in the Dagster instance, and
every file in the lake.
"""

import logging
import os

from dagster._serdes import serialize_value

from binance_assets.lib.partitions import parse_hour, to_ms
from binance_assets_tests.harness import take_snapshots

HOUR = "2024-02-29-21:00"
HOUR_MS = to_ms(parse_hour(HOUR))


def everything_left_behind(pipeline, caplog, capfd) -> dict[str, str]:
    places = {
        "python logging": caplog.text + "\n".join(r.getMessage() for r in caplog.records),
        "stdout/stderr": "".join(capfd.readouterr()),
    }
    instance = pipeline.instance
    for run in instance.get_runs():
        places[f"run {run.run_id}"] = serialize_value(run)
        places[f"events of {run.run_id}"] = "\n".join(serialize_value(e) for e in instance.all_logs(run.run_id))
    for path in pipeline.lake_dir.rglob("*"):
        if path.is_file():
            places[str(path)] = path.read_bytes().decode("utf-8", errors="replace")
    return places


def test_no_secret_reaches_logs_metadata_lake_or_errors(pipeline, stand_in, credentials, monkeypatch, caplog, capfd):
    for logger in (None, "urllib3", "binance", "binance_assets"):  # urllib3 ships at WARNING
        caplog.set_level(logging.DEBUG, logger=logger)
    key, secret = os.environ["BINANCE_API_KEY"], os.environ["BINANCE_API_SECRET"]
    stand_in.generate_orders("BTCUSDT", HOUR_MS, HOUR_MS + 3_600_000, 1500, seed=21)

    assert pipeline.materialize(HOUR, group="orders", **credentials).success
    stand_in.server_time_offset_ms = 30_000  # clock skew: re-sync and retry
    stand_in.fail_next(1, "500", path="/api/v3/allOrders")  # a retried server error
    assert pipeline.materialize(HOUR, selection=["raw_orders"], **credentials).success
    stand_in.server_time_offset_ms = 0
    assert pipeline.materialize(HOUR, **credentials).success  # klines, with the key configured
    assert pipeline.materialize(None, group="symbols", **credentials).success
    take_snapshots(pipeline, 1, **credentials)

    wrong_secret = f"wrongsecret{secret[::-1]}"
    monkeypatch.setenv("BINANCE_API_SECRET", wrong_secret)
    refused_signature = pipeline.materialize(HOUR, selection=["raw_orders"], raise_on_error=False, **credentials)
    monkeypatch.setenv("BINANCE_API_SECRET", secret)
    stand_in.api_keys.remove(key)
    refused_key = pipeline.materialize(HOUR, selection=["raw_orders"], raise_on_error=False, **credentials)
    assert not refused_signature.success and not refused_key.success

    places = everything_left_behind(pipeline, caplog, capfd)
    fragments = {value[i : i + 16] for value in (key, secret, wrong_secret) for i in range(0, len(value) - 15, 4)}
    leaks = [(where, fragment[:6]) for where, text in places.items() for fragment in fragments if fragment in text]
    assert not leaks  # not even a truncated part of one

    # The scan looked where a leak would be: signed URLs at DEBUG, run logs, the errors' full text, the lake.
    assert "allOrders?" in places["python logging"] and "signature=" in places["python logging"]
    assert "synced and retrying once" in places["stdout/stderr"] and "STEP_FAILURE" in places["stdout/stderr"]
    events = "\n".join(text for where, text in places.items() if where.startswith("events of"))
    assert "code -1022" in events and "code -2015" in events and "BINANCE_API_SECRET" in events
    assert any("raw/orders" in where for where in places)
