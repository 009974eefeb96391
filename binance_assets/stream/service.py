"""The live stream: closed candles from the websocket to the lake (and ClickHouse) within a second.

One loop reads the connection's events in order:

- a closed candle (``k.x`` true) is kept once per (symbol, open time) and held for the next batch;
  updates of open candles are dropped;
- a new connection after a gap (the first one, any disconnect) first fills the hole from REST,
  through the exchange resource (weight budget, retries), from the newest candle written (the lake's
  status survives restarts) up to now; messages that arrive meanwhile wait in the queue. A close
  that skips minutes inside a connection is filled the same way;
- batches go out ``batch_wait_s`` after their first candle (the closes of every symbol arrive
  together) and at most once per ``write_interval_s``, from one writer thread; a failed write is
  retried with backoff, losing nothing.

Stopping (SIGTERM) reads what was already received, writes everything held, then the status.
"""

import asyncio
import logging
import os
import statistics
import time
from collections import Counter, defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from tenacity import AsyncRetrying, retry_if_not_exception_type, stop_after_attempt, wait_exponential

from binance_assets.defs.klines.clean import STREAM
from binance_assets.defs.klines.dataset import TABLE
from binance_assets.defs.klines.live.dataset import LiveCandle, closed_candle, rest_candle
from binance_assets.defs.klines.live.raw import read_status
from binance_assets.errors import NotRetryable
from binance_assets.lib.partitions import HOUR_MS, MINUTE_MS
from binance_assets.resources.binance import BinanceExchange
from binance_assets.resources.binance.websocket import Connected, Disconnected, Received
from binance_assets.resources.clickhouse import ClickHouseWarehouse
from binance_assets.resources.lake import LakeResource
from binance_assets.stream.sink import LiveSink

BATCH_WAIT_S = 0.2
WRITE_INTERVAL_S = 1.0  # at most one insert a second, as ClickHouse prefers
MAX_BACKFILL_MS = 24 * HOUR_MS  # older holes are the hourly batch's to fill
WRITE_RETRY_S = (1, 2, 5, 10, 30)
HEAL_ATTEMPTS = 4  # each of them already retried by the exchange resource
SEEN_KEPT_MS = 3 * HOUR_MS
LAG_SAMPLES = 1000


class LiveGapError(RuntimeError):
    """Candles could not be fetched or written: the process exits non-zero, and its restart fills the
    gap from the lake's live edge."""


def _utc(ms: int) -> str:
    return f"{datetime.fromtimestamp(ms / 1000, UTC):%Y-%m-%d %H:%M} UTC"


def _percentiles(values) -> dict:
    values = sorted(values)
    if not values:
        return {}
    return {"p50": round(statistics.median(values)), "max": round(values[-1])}


async def _first(*waits) -> None:
    """Wait for the first of ``waits`` to finish; cancel the others."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


class LiveKlines:
    def __init__(
        self,
        exchange: BinanceExchange,
        lake: LakeResource,
        symbols: list[str],
        warehouse: ClickHouseWarehouse | None = None,
        *,
        log: logging.Logger | None = None,
        batch_wait_s: float = BATCH_WAIT_S,
        write_interval_s: float = WRITE_INTERVAL_S,
        max_backfill_ms: int = MAX_BACKFILL_MS,
        **stream_options,
    ):
        self.exchange = exchange
        self.symbols = symbols
        self._tracked = set(symbols)
        self.sink = LiveSink(lake, warehouse)
        self.log = log or logging.getLogger("binance_assets.stream")
        self.batch_wait_s = batch_wait_s
        self.write_interval_s = write_interval_s
        self.max_backfill_ms = max_backfill_ms
        self.stream_options = stream_options
        self.counts: Counter[str] = Counter()
        self.connected = False
        self.caught_up = False  # connected, and any gap before the connection filled
        self.stream = None
        self._seen: dict[str, set[int]] = defaultdict(set)
        self._newest: dict[str, int] = {}
        self._pending: list[LiveCandle] = []
        self._has_pending = asyncio.Event()
        self._last_write = 0.0
        self._write_lags: deque[float] = deque(maxlen=LAG_SAMPLES)  # arrival -> written, ms
        self._fatal: BaseException | None = None
        self._started = False
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="live-writer")

    @property
    def destination(self) -> str:
        warehouse = self.sink.warehouse
        return "the lake" + (f" and {warehouse.database}.{TABLE.name}" if warehouse is not None else "")

    async def run(self, stopping: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        flusher = None
        try:
            await loop.run_in_executor(self._writer, self._start)
            self.stream = self.exchange.market_stream(self.symbols, log=self.log, **self.stream_options)
            flusher = loop.create_task(self._flush_forever(stopping))
            async with self.stream:
                async for event in self.stream.events(stopping):
                    await self._handle(event)
        finally:
            stopping.set()
            if flusher is not None:
                await flusher
            self.connected = False
            await self._stop()
            self._writer.shutdown()
            self.sink.close()
        if self._fatal is not None:
            raise self._fatal

    # ------------------------------------------------------------------ reading
    def _start(self) -> None:
        self.exchange.stream_base_url  # a URL that is not a websocket's fails here, before anything else
        # An unknown symbol's stream is accepted and stays silent: ask REST once, up front.
        self.exchange.validate_symbols(self.symbols)
        self.exchange.sync_clock()
        if self.sink.warehouse is not None:
            self.sink.warehouse.ensure_tables([TABLE])
        edge = (read_status(self.sink.lake) or {}).get("edge", {})
        self.sink.edge = {s: t for s, t in edge.items() if s in self.symbols}
        for symbol, newest in self.sink.edge.items():
            self._newest[symbol] = newest
            self._seen[symbol].add(newest)
        self._started = True
        self.log.info(
            f"Streaming {len(self.symbols)} symbol(s) to {self.destination}; "
            + (f"continuing from {_utc(min(self.sink.edge.values()))}" if self.sink.edge else "no earlier live edge")
        )

    async def _handle(self, event) -> None:
        if isinstance(event, Received):
            try:
                candle = closed_candle(event.text, self.exchange.to_server_ms(event.at))
            except (ValueError, KeyError, TypeError, AttributeError) as error:
                self.counts["unreadable"] += 1
                self.log.warning(f"Skipped a stream message that is not a kline event ({error!r}): {event.text[:200]}")
                return
            if candle is None or candle.symbol not in self._tracked:
                return
            newest = self._newest.get(candle.symbol)
            if newest is not None and candle.open_time > newest + MINUTE_MS:  # the stream skipped a close
                await self._heal({candle.symbol: (newest + MINUTE_MS, candle.open_time)})
            self._accept(candle)
        elif isinstance(event, Connected):
            self.connected = True
            if event.gap:
                await self._heal()
            self.caught_up = True
        elif isinstance(event, Disconnected):
            self.connected = self.caught_up = False

    def _accept(self, candle: LiveCandle) -> bool:
        seen = self._seen[candle.symbol]
        if candle.open_time in seen:
            self.counts["duplicates"] += 1
            return False
        seen.add(candle.open_time)
        newest = max(self._newest.get(candle.symbol, candle.open_time), candle.open_time)
        self._newest[candle.symbol] = newest
        if len(seen) > SEEN_KEPT_MS // MINUTE_MS:
            seen.difference_update([t for t in seen if t < newest - SEEN_KEPT_MS])
        self.counts[candle.source] += 1
        self.log.debug(f"Holding {candle.symbol} {_utc(candle.open_time)} ({candle.source})")
        self._pending.append(candle)
        self._has_pending.set()
        return True

    async def _heal(self, holes: dict[str, tuple[int, int]] | None = None) -> None:
        """Fetch from REST the closed candles of ``holes`` (symbol -> [start, end) open times), by
        default every symbol's from its newest candle on."""
        if holes is None and not self._newest:
            return  # nothing written yet: nothing can be missing
        started = time.perf_counter()
        retrying = AsyncRetrying(
            retry=retry_if_not_exception_type(NotRetryable),
            stop=stop_after_attempt(HEAL_ATTEMPTS),
            wait=wait_exponential(multiplier=5, max=30),
            reraise=True,
        )
        try:
            candles = await retrying(asyncio.to_thread, self._fetch, holes)
        except NotRetryable:
            raise
        except Exception as error:
            raise LiveGapError(
                f"Could not fill the gap from REST ({type(error).__name__}: {error}). Exiting so that the "
                "service restarts and fills it from the lake's live edge."
            ) from error
        filled = sorted((c for c in candles if self._accept(c)), key=lambda c: c.open_time)
        span = f" opening {_utc(filled[0].open_time)} – {_utc(filled[-1].open_time)}" if filled else ""
        self.log.info(
            f"Filled the gap from REST: {len(filled)} closed candle(s){span} in "
            f"{time.perf_counter() - started:.2f} s; reading the stream on"
        )

    def _fetch(self, holes: dict[str, tuple[int, int]] | None) -> list[LiveCandle]:
        now = self.exchange.sync_clock()  # which candles have closed, by the exchange's clock
        if holes is None:
            holes = {symbol: (newest + MINUTE_MS, now) for symbol, newest in self._newest.items()}
        floor = (now - self.max_backfill_ms) // MINUTE_MS * MINUTE_MS  # older: the hourly batch's to fill
        return [
            rest_candle(symbol, row, now)
            for symbol, (start, end) in holes.items()
            if max(start, floor) < end
            for page in self.exchange.klines(symbol, max(start, floor), end)
            for row in page
        ]

    # ------------------------------------------------------------------ writing
    async def _flush_forever(self, stopping: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        while not stopping.is_set():
            await _first(self._has_pending.wait(), stopping.wait())
            wait = max(self.batch_wait_s, self._last_write + self.write_interval_s - loop.time())
            await _first(asyncio.sleep(wait), stopping.wait())
            if stopping.is_set():
                return
            try:
                written = await self._flush()
            except NotRetryable as error:
                self._fatal = error
                stopping.set()
                return
            failures = 0 if written else failures + 1
            if failures:
                await _first(asyncio.sleep(WRITE_RETRY_S[min(failures, len(WRITE_RETRY_S)) - 1]), stopping.wait())

    async def _flush(self) -> bool:
        """Write what is held; False (keeping it) when the write failed."""
        batch, self._pending = self._pending, []
        self._has_pending.clear()
        if not batch:
            return True
        try:
            written_ms = await asyncio.get_running_loop().run_in_executor(self._writer, self._write, batch)
        except Exception as error:
            self._pending[:0] = batch
            self._has_pending.set()
            if isinstance(error, NotRetryable):
                raise
            self.log.warning(f"Could not write {len(batch)} candle(s) ({type(error).__name__}: {error}); retrying")
            return False
        self._last_write = asyncio.get_running_loop().time()
        lags = [written_ms - c.received_ms for c in batch]
        self._write_lags.extend(lags)
        streamed = [c for c in batch if c.source == STREAM]
        arrival = _percentiles(c.received_ms - c.event_ms for c in streamed)
        self.log.info(
            f"Wrote {len(batch)} closed candle(s) ({len(streamed)} stream, {len(batch) - len(streamed)} rest) up to "
            f"{_utc(max(c.open_time for c in batch))} to {self.destination}; arrival→written p50 "
            f"{statistics.median(lags):.0f} ms, max {max(lags):.0f} ms"
            + (f"; close→arrival p50 {arrival['p50']} ms" if arrival else "")
        )
        return True

    def _write(self, batch: list[LiveCandle]) -> int:
        self.sink.write(batch)
        written_ms = self.exchange.to_server_ms(time.time())
        self.sink.write_status(self._status(written_ms))
        return written_ms

    def _status(self, written_ms: int) -> dict:
        stats = self.stream.stats if self.stream is not None else None
        return {
            "written_at_ms": written_ms,
            "connected": self.connected,
            "connections": stats.connections if stats else 0,
            "rotations": stats.rotations if stats else 0,
            "disconnects": stats.disconnects if stats else 0,
            "candles": dict(self.counts),
            "lag_ms": _percentiles(self._write_lags),
            "direct_insert": self.sink.warehouse is not None,
            "pid": os.getpid(),
        }

    async def _stop(self) -> None:
        if not self._started:
            return
        held = len(self._pending)
        written = await self._flush()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._writer, lambda: self.sink.write_status(self._status(self._now())))
        if not written:
            raise LiveGapError(
                f"Stopped with {len(self._pending)} closed candle(s) not written; the next start fills them from REST."
            )
        self.log.info(f"Stopped cleanly: {held} held candle(s) written; {dict(self.counts)} this run")

    def _now(self) -> int:
        return self.exchange.to_server_ms(time.time())
