"""Where a batch of live candles goes: every line to the lake, then (when the stream inserts
itself) the rows to ``{db}.klines``, then the status with the new live edge.

Blocking I/O: the service calls it from one writer thread. A failed write leaves what it could not
write marked, so the next attempt writes it again; files are whole-hour rewrites and rows are
collapsed by ReplacingMergeTree, so writing twice never doubles anything.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from binance_assets.defs.klines_live.dataset import LiveCandle
from binance_assets.defs.klines_live.raw import read_live_hour, write_live_file, write_status
from binance_assets.defs.klines_live.warehouse import insert_live
from binance_assets.resources.clickhouse import ClickHouseWarehouse
from binance_assets.resources.lake import LakeResource

HOURS_KEPT = timedelta(hours=2)  # hour files kept in memory behind the newest one written


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

    def write(self, candles: list[LiveCandle]) -> None:
        for candle in candles:
            self._hour(candle.symbol, candle.hour).add(candle)
        for (symbol, hour), state in self._hours.items():
            for source in sorted(state.unwritten):
                write_live_file(self.lake, symbol, hour, source, state.lines[source])
                state.unwritten.discard(source)
        if self.warehouse is not None:
            insert_live(self.warehouse, candles)
        for candle in candles:
            self.edge[candle.symbol] = max(self.edge.get(candle.symbol, candle.open_time), candle.open_time)
        self._forget_old_hours()

    def write_status(self, status: dict) -> None:
        write_status(self.lake, {**status, "edge": dict(self.edge)})

    def _hour(self, symbol: str, hour: datetime) -> _Hour:
        if (symbol, hour) not in self._hours:
            state = _Hour()
            for candle in read_live_hour(self.lake, symbol, hour):  # a restart appends to what is there
                state.add(candle)
            state.unwritten.clear()
            self._hours[(symbol, hour)] = state
        return self._hours[(symbol, hour)]

    def _forget_old_hours(self) -> None:
        newest = max((hour for _, hour in self._hours), default=None)
        for key, state in list(self._hours.items()):
            if key[1] < newest - HOURS_KEPT and not state.unwritten:
                del self._hours[key]
