"""Binance websocket market streams: one combined connection, kept open within Binance's limits.

``websockets`` (asyncio) speaks the protocol: it answers the server's pings (Binance pings every
20 s and drops a connection whose pong is a minute late) and pings the server itself, so a silent
network is noticed within ``ping_interval_s + ping_timeout_s``. Around it:

- connection attempts are retried with exponential backoff (tenacity), and never more than 300 in
  5 minutes, Binance's per-IP connection limit;
- a connection is replaced before Binance's 24-hour limit: the new one opens before the old one
  closes, so nothing is missed;
- every frame is read as it arrives into one queue with its arrival time, so a consumer that is
  busy (filling a gap from REST) never stalls the socket and its pongs;
- consumers see ``Connected(gap=True)`` whenever messages may have been missed (the first
  connection, any disconnect): fill the hole before reading on.

The streams are named in the URL (``/stream?streams=a/b``), so nothing is sent but pings and pongs:
far below Binance's 5 incoming messages a second.
"""

import asyncio
import collections
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, stop_never
from tenacity.wait import wait_exponential_jitter
from websockets.asyncio.client import ClientConnection, connect, process_exception
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI

from binance_assets.errors import ConfigurationError

MAX_STREAMS = 1024  # per connection
CONNECTIONS_PER_WINDOW, CONNECTION_WINDOW_S = 300, 300.0  # per IP
ROTATE_AFTER_S = 23.5 * 3600  # Binance closes a connection at 24 h
FIRST_CONNECTION_ATTEMPTS = 3  # later connections are retried for as long as it takes


def kline_stream_names(symbols: list[str], interval: str = "1m") -> list[str]:
    """Binance's stream names are lower case: ``btcusdt@kline_1m``."""
    return [f"{symbol.lower()}@kline_{interval}" for symbol in symbols]


@dataclass(frozen=True)
class Connected:
    number: int  # 1 for the first connection of the process
    gap: bool  # messages may have been missed before this connection (none on a rotation)


@dataclass(frozen=True)
class Disconnected:
    number: int
    reason: str


@dataclass(frozen=True)
class Received:
    text: str
    at: float  # local clock (time.time()) when the frame arrived


@dataclass
class StreamStats:
    connections: int = 0
    rotations: int = 0
    disconnects: int = 0
    failed_attempts: int = 0
    messages: int = 0


class ConnectionBudget:
    """At most ``limit`` connection attempts in any ``window_s`` (Binance: 300 per 5 minutes per IP)."""

    def __init__(self, limit: int = CONNECTIONS_PER_WINDOW, window_s: float = CONNECTION_WINDOW_S):
        self.limit, self.window_s = limit, window_s
        self._attempts: collections.deque[float] = collections.deque()

    async def acquire(self) -> None:
        while True:
            now = time.monotonic()
            while self._attempts and self._attempts[0] <= now - self.window_s:
                self._attempts.popleft()
            if len(self._attempts) < self.limit:
                self._attempts.append(now)
                return
            await asyncio.sleep(self._attempts[0] + self.window_s - now)


def _describe_close(connection: ClientConnection) -> str:
    code, reason = connection.close_code, connection.close_reason
    meaning = {
        1000: "closed",
        1001: "closed by the server (going away: Binance's 24-hour limit or a restart)",
        1006: "dropped without a close frame (network)",
        1008: "closed by the server for too many messages",
        1011: "closed for a missed ping/pong",
    }.get(code, "closed")
    return f"{meaning}, code {code}{f': {reason}' if reason else ''}"


def _transient(error: BaseException) -> bool:
    """Worth another attempt: network errors, time-outs, 5xx and 429 answers to the handshake."""
    if isinstance(error, InvalidStatus) and error.response.status_code == 429:
        return True
    return isinstance(error, Exception) and process_exception(error) is None


def _refused(error: BaseException, url: str) -> ConfigurationError:
    if isinstance(error, InvalidURI):
        return ConfigurationError(
            f"BINANCE_STREAM_URL gives {url!r}, which is not a websocket URL: set e.g. wss://stream.binance.com:9443."
        )
    if isinstance(error, InvalidStatus):
        status = error.response.status_code
        body = " ".join((error.response.body or b"").decode("utf-8", "replace").split())[:200]
        fix = {
            400: "a symbol in BINANCE_SYMBOLS is not a stream name the exchange accepts",
            404: "BINANCE_STREAM_URL is not a Binance stream origin (wss://stream.binance.com:9443)",
            403: "the exchange refuses this network (WAF)",
            451: "the exchange refuses this location: use an allowed region or Binance.US",
        }.get(status, "check BINANCE_STREAM_URL")
        return ConfigurationError(f"The stream server refused the connection (HTTP {status} {body}): {fix}.")
    return ConfigurationError(
        f"Cannot reach the stream at {url.split('?')[0]} ({type(error).__name__}: {error}). "
        "Check BINANCE_STREAM_URL and the network (offline: run the stand-in, see README)."
    )


@dataclass
class _Open:
    connection: ClientConnection
    reader: asyncio.Task
    number: int


@dataclass
class MarketStream:
    """One combined-stream connection to ``base_url`` for ``streams`` (two for a moment while
    rotating). ``async with`` keeps it connected; ``events(stopping)`` yields what happens."""

    base_url: str
    streams: list[str]
    log: logging.Logger
    rotate_after_s: float = ROTATE_AFTER_S
    ping_interval_s: float = 20.0
    ping_timeout_s: float = 20.0
    open_timeout_s: float = 10.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 10.0
    budget: ConnectionBudget = field(default_factory=ConnectionBudget)
    stats: StreamStats = field(default_factory=StreamStats)

    def __post_init__(self) -> None:
        if len(self.streams) > MAX_STREAMS:
            raise ConfigurationError(
                f"BINANCE_SYMBOLS lists {len(self.streams)} symbols: one stream connection carries at most "
                f"{MAX_STREAMS}. Stream fewer symbols."
            )
        self._queue: asyncio.Queue[Connected | Disconnected | Received] = asyncio.Queue()
        self._task: asyncio.Task | None = None

    @property
    def url(self) -> str:
        return f"{self.base_url.rstrip('/')}/stream?streams={'/'.join(self.streams)}"

    async def __aenter__(self) -> "MarketStream":
        self._task = asyncio.get_running_loop().create_task(self._supervise(), name="market-stream")
        return self

    async def __aexit__(self, *exc) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def events(self, stopping: asyncio.Event) -> AsyncIterator[Connected | Disconnected | Received]:
        """Everything received, in order, until ``stopping`` is set (then what is already received)
        or a refusal no retry can fix (raised here)."""
        stop = asyncio.ensure_future(stopping.wait())
        try:
            while True:
                if not self._queue.empty():
                    yield self._queue.get_nowait()
                    continue
                if stopping.is_set() or self._task.done():
                    break
                get = asyncio.ensure_future(self._queue.get())
                done, _ = await asyncio.wait({get, stop, self._task}, return_when=asyncio.FIRST_COMPLETED)
                if get in done:
                    yield get.result()
                else:
                    get.cancel()
        finally:
            stop.cancel()
        if self._task.done() and not self._task.cancelled() and self._task.exception() is not None:
            raise self._task.exception()

    async def _supervise(self) -> None:
        current: _Open | None = None
        gap = True
        try:
            while True:
                connection = await self._connect(first=self.stats.connections == 0)
                if current is not None and current.reader.done():
                    gap = True  # the old connection died before the new one was open
                self.stats.connections += 1
                opened = _Open(connection, asyncio.ensure_future(self._read(connection)), self.stats.connections)
                self._queue.put_nowait(Connected(opened.number, gap))
                self.log.info(
                    f"Stream connection #{opened.number} open: {len(self.streams)} stream(s) at {self.base_url}"
                )
                if current is not None:  # a rotation: the new connection reads, so the old one may go
                    await self._close(current)
                current = opened
                rotate = asyncio.ensure_future(asyncio.sleep(self.rotate_after_s))
                await asyncio.wait({current.reader, rotate}, return_when=asyncio.FIRST_COMPLETED)
                if not current.reader.done():
                    self.stats.rotations += 1
                    self.log.info(
                        f"Stream connection #{current.number} is {self.rotate_after_s / 3600:.2f} h old: opening "
                        "its successor before Binance's 24-hour limit closes it"
                    )
                    gap = False
                    continue
                rotate.cancel()
                self.stats.disconnects += 1
                reason = _describe_close(current.connection)
                self._queue.put_nowait(Disconnected(current.number, reason))
                self.log.warning(f"Stream connection #{current.number} {reason}: reconnecting")
                current, gap = None, True
        finally:
            if current is not None:
                await self._close(current)

    async def _read(self, connection: ClientConnection) -> None:
        try:
            async for message in connection:
                self.stats.messages += 1
                text = message if isinstance(message, str) else message.decode("utf-8", "replace")
                self._queue.put_nowait(Received(text, time.time()))
        except ConnectionClosed:
            pass

    async def _close(self, opened: _Open) -> None:
        await opened.connection.close()
        await asyncio.gather(opened.reader, return_exceptions=True)

    async def _connect(self, first: bool) -> ClientConnection:
        def log_retry(state: RetryCallState) -> None:
            self.stats.failed_attempts += 1
            error = state.outcome.exception()
            self.log.warning(
                f"Cannot open the stream at {self.base_url} ({type(error).__name__}: {error}); "
                f"retrying in {state.next_action.sleep:.1f} s"
            )

        retrying = AsyncRetrying(
            retry=retry_if_exception(_transient),
            stop=stop_after_attempt(FIRST_CONNECTION_ATTEMPTS) if first else stop_never,
            wait=wait_exponential_jitter(initial=self.backoff_initial_s, max=self.backoff_max_s),
            before_sleep=log_retry,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    await self.budget.acquire()
                    return await connect(
                        self.url,
                        open_timeout=self.open_timeout_s,
                        ping_interval=self.ping_interval_s,
                        ping_timeout=self.ping_timeout_s,
                        close_timeout=2.0,
                        max_size=2**20,
                    )
        except (asyncio.CancelledError, KeyboardInterrupt):
            raise
        except Exception as error:
            raise _refused(error, self.url) from None
        raise AssertionError("unreachable: tenacity either returns or raises")
