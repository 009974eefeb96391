"""``binance-assets stream`` as operators run it: a process configured by its environment, stopped by SIGTERM."""

import json
import os
import signal
import subprocess
import threading

import pytest

from binance_assets_tests.harness import (
    BINANCE_ASSETS,
    MINUTE,
    live_edge,
    move_market,
    open_live_market,
    wait_for,
)
from binance_assets_tests.harness import (
    FIRST_LIVE_CANDLE as FIRST,
)


class StreamProcess:
    """``binance-assets stream`` against the pipeline's stand-in, lake and ClickHouse; stderr collected."""

    def __init__(self, pipeline, *args: str, **environment: str):
        env = {
            **os.environ,
            "BINANCE_API_URL": pipeline.stand_in.url,
            "BINANCE_STREAM_URL": pipeline.stand_in.stream_url,
            "BINANCE_SYMBOLS": pipeline.symbols,
            "LAKE_URL": pipeline.lake_url,
            "CLICKHOUSE_URL": pipeline.clickhouse_url,
            **environment,
        }
        self.process = subprocess.Popen(
            [BINANCE_ASSETS, "stream", *args], env=env, stderr=subprocess.PIPE, text=True, bufsize=1
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, text: str) -> None:
        wait_for(lambda: any(text in line for line in self.lines) or self.process.poll() is not None, repr(text))
        assert any(text in line for line in self.lines), f"{text!r} not logged; the process ended:\n{self.log}"

    def stop(self, signum: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        code = self.process.wait(60)
        self._reader.join(10)
        return code


@pytest.fixture
def stream_process(stand_in, pipeline):
    started = []

    def start(*args: str, **environment: str) -> StreamProcess:
        started.append(StreamProcess(pipeline, *args, **environment))
        return started[-1]

    open_live_market(pipeline)
    yield start
    for process in started:
        process.stop(signal.SIGKILL)


def test_sigterm_writes_the_candles_held_and_stops_cleanly(stand_in, pipeline, stream_process, clickhouse_query):
    stream = stream_process("--load", "direct", "--batch-wait", "3600", "--verbose")  # holds until stopped
    stream.wait_for_line("Stream connection #1 open")
    move_market(stand_in, 2 * MINUTE)
    stream.wait_for_line("Holding ETHUSDT 2024-03-01 00:01 UTC (stream)")
    assert live_edge(pipeline.lake_url) == {}  # received, not yet written

    assert stream.stop() == 0, stream.log
    assert "SIGTERM received: writing what is held" in stream.log
    assert "Stopped cleanly: 4 held candle(s) written" in stream.log
    status = json.loads((pipeline.lake_dir / "raw/klines_stream/status.json").read_text())
    assert status["edge"] == {"BTCUSDT": FIRST + MINUTE, "ETHUSDT": FIRST + MINUTE} and not status["connected"]
    assert clickhouse_query("SELECT trading_pair, count() FROM binance.klines FINAL GROUP BY 1 ORDER BY 1") == [
        ("BTCUSDT", 2),
        ("ETHUSDT", 2),
    ]


def test_the_stream_and_a_range_run_share_the_embedded_warehouse(stand_in, pipeline, stream_process, clickhouse_query):
    stream = stream_process()  # the default on chdb: the stream writes the lake only
    stream.wait_for_line("writes the lake only")
    stream.wait_for_line("Stream connection #1 open")
    move_market(stand_in, 2 * MINUTE)

    backfill = pipeline.materialize("2024-02-29-18:00", last="2024-02-29-23:00")  # opens chdb meanwhile
    wait_for(lambda: live_edge(pipeline.lake_url).get("ETHUSDT", 0) >= FIRST + MINUTE, "the stream's candles")
    move_market(stand_in, MINUTE)
    wait_for(lambda: live_edge(pipeline.lake_url).get("ETHUSDT", 0) >= FIRST + 2 * MINUTE, "more candles")
    assert stream.process.poll() is None  # still streaming
    assert stream.stop() == 0, stream.log

    assert backfill.success
    hour = {"first_hour": "2024-03-01-00:00", "last_hour": "2024-03-01-00:00"}
    pipeline.materialize(
        None, selection=["clickhouse_klines_stream"], run_config={"ops": {"clickhouse_klines_stream": {"config": hour}}}
    )
    # The backfill's day (2024-02-29) has ended, so KLINES_SOURCE=auto took it from the bulk archive.
    assert clickhouse_query("SELECT source, count() FROM binance.klines FINAL GROUP BY 1 ORDER BY 1") == [
        ("archive", 2 * 6 * 60),
        ("stream", 2 * 3),
    ]


@pytest.mark.parametrize(
    "setting, value, message",
    [
        (
            "BINANCE_STREAM_URL",
            "https://stream.binance.com:9443",
            "BINANCE_STREAM_URL='https://stream.binance.com:9443' is not a websocket URL",
        ),
        ("BINANCE_SYMBOLS", "BTCUSDT,NOPEUSDT", "Unknown symbol(s) NOPEUSDT"),
    ],
    ids=["not-a-websocket-url", "unknown-symbol"],
)
def test_bad_configuration_stops_at_once_naming_the_setting(pipeline, stream_process, setting, value, message):
    stream = stream_process(**{setting: value})
    assert stream.process.wait(60) == 2
    stream.stop()
    assert stream.lines[-1].startswith(f"binance-assets stream: {message}"), stream.log
    assert not (pipeline.lake_dir / "raw/klines_stream/status.json").exists()
