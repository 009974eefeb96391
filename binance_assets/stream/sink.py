"""Where a batch of live candles goes: every line to the lake and (when the stream inserts itself)
the rows to ``{db}.klines``, side by side, then the status with the new live edge.

Blocking I/O, called from the service's writer thread; the symbol-hours' files and the insert go
out in parallel (on S3 each write is a round trip). A failed write leaves what it could not write
marked, so the next attempt writes it again; files are whole-hour rewrites and rows are collapsed by
ReplacingMergeTree, so writing twice never doubles anything.
"""

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from binance_assets.defs.klines.live.dataset import LiveCandle
from binance_assets.defs.klines.live.raw import read_live_hour, write_live_hour, write_status
from binance_assets.defs.klines.live.warehouse import insert_live
from binance_assets.resources.clickhouse import ClickHouseWarehouse
from binance_assets.resources.lake import LakeResource

HOURS_KEPT = timedelta(hours=2)  # hour files kept in memory behind the newest one written
PARALLEL_WRITES = 8


@dataclass
class _Hour:
    """A symbol-hour's files as written so far (loaded from the lake on first touch)."""

    lines: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    open_times: set[int] = field(default_factory=set)
    unwritten: set[str] = field(default_factory=set)  # sources whose file lacks lines

    def add(self, candle: LiveCandle) -> None:
        if candle.open_time not in self.open_times:  # one line per candle, across both files
            self.open_times.add(candle.open_time)
            self.lines[candle.source].append(candle.line)
            self.unwritten.add(candle.source)


class LiveSink:
    def __init__(self, lake: LakeResource, warehouse: ClickHouseWarehouse | None = None):
        self.lake = lake
        self.warehouse = warehouse
        self.edge: dict[str, int] = {}  # newest open time written, per symbol
        self._hours: dict[tuple[str, datetime], _Hour] = {}
        self._pool = ThreadPoolExecutor(PARALLEL_WRITES, thread_name_prefix="live-sink")

    def write(self, candles: list[LiveCandle]) -> None:
        untouched = {(c.symbol, c.hour) for c in candles} - set(self._hours)
        for key, stored in zip(untouched, self._pool.map(lambda key: read_live_hour(self.lake, *key), untouched)):
            self._hours[key] = _Hour()
            for candle in stored:  # a restart appends to what is there
                self._hours[key].add(candle)
            self._hours[key].unwritten.clear()
        for candle in candles:
            self._hours[(candle.symbol, candle.hour)].add(candle)
        writes = [
            self._pool.submit(self._write_hour, key, state) for key, state in self._hours.items() if state.unwritten
        ]
        if self.warehouse is not None:
            writes.append(self._pool.submit(insert_live, self.warehouse, candles))
        for write in writes:
            write.result()  # raises the first failure; the others are done or marked unwritten
        for candle in candles:
            self.edge[candle.symbol] = max(self.edge.get(candle.symbol, candle.open_time), candle.open_time)
        self._forget_old_hours()

    def _write_hour(self, key: tuple[str, datetime], state: _Hour) -> None:
        changed = set(state.unwritten)
        write_live_hour(self.lake, *key, state.lines, changed)
        state.unwritten -= changed

    def write_status(self, status: dict) -> None:
        write_status(self.lake, {**status, "edge": dict(self.edge)})

    def close(self) -> None:
        self._pool.shutdown()

    def _forget_old_hours(self) -> None:
        newest = max((hour for _, hour in self._hours), default=None)
        for key, state in list(self._hours.items()):
            if key[1] < newest - HOURS_KEPT and not state.unwritten:
                del self._hours[key]
