"""Websocket side of the stand-in: the market streams on a second port.

``websockets`` (asyncio API) serves them from an event loop in a daemon thread. Everything
that touches connections or subscriptions runs in that loop; the test thread reaches it
through :meth:`StreamServer.call`, which waits for the result, so ``advance()`` returns once
the events it caused are queued on every connection (in order, behind earlier ones).

Connection management follows the Binance docs (see the package docstring): server pings,
a pong deadline, a maximum lifetime, at most N incoming messages a second (ping and pong
frames included), at most N streams per connection, plus the test levers "drop" and "pause".
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import parse_qsl, unquote, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.protocol import State

from .streams import StreamSession, StreamStats, parse_stream

if TYPE_CHECKING:  # pragma: no cover
    from .exchange import ExchangeStandIn

# Binance counts these incoming frames against the per-connection message rate
_COUNTED_OPCODES = (Opcode.TEXT, Opcode.BINARY, Opcode.PING, Opcode.PONG)
_DATA_OPCODES = (Opcode.TEXT, Opcode.BINARY)
_LOGGER = logging.getLogger("binance_stand_in.streams")


class _Close(NamedTuple):
    """Queued behind a connection's pending messages: close with this code once they are sent."""

    code: int
    reason: str


class _Connection(ServerConnection):
    """A websocket connection that knows its stream session and counts incoming messages."""

    hub: StreamHub | None = None
    session: StreamSession | None = None
    requested: tuple[list[str], bool] = ([], False)
    outbox: asyncio.Queue[str | _Close] | None = None
    arrivals: collections.deque[float] | None = None  # times of recent incoming messages
    over_limit = False
    closing = False  # a _Close is queued
    data_admitted = 0  # method messages let through...
    data_answered = 0  # ...and answered: past the limit, the close waits for the answers

    def process_event(self, event) -> None:
        # self.request is None only for the handshake request itself, which is not a message
        if self.request is not None and self.hub is not None and isinstance(event, Frame):
            if event.opcode in _COUNTED_OPCODES and not self.over_limit:
                self.hub.admit_message(self, event.opcode in _DATA_OPCODES)
            if self.over_limit and event.opcode is not Opcode.CLOSE:
                return  # past the limit: the connection is closing, nothing more is read
        super().process_event(event)

    def close_after_queued(self, code: int, reason: str) -> None:
        if not self.closing and self.outbox is not None:
            self.closing = True
            self.outbox.put_nowait(_Close(code, reason))

    def connection_lost(self, exc) -> None:
        super().connection_lost(exc)
        if self.hub is not None:
            self.hub.forget(self)


class StreamHub:
    """Open connections, the events they are owed, and the test levers. Loop thread only."""

    def __init__(self, exchange: ExchangeStandIn, stats: StreamStats):
        self.ex = exchange
        self.stats = stats
        self.connections: set[_Connection] = set()
        self.paused_until = 0.0  # time.monotonic(); handshakes before it are refused

    # ------------------------------------------------------------------ handshake
    def process_request(self, conn: _Connection, request):
        if time.monotonic() < self.paused_until:
            return conn.respond(503, "Service Unavailable: the stand-in's streams are paused.\n")
        url = urlsplit(request.path)
        path = unquote(url.path)
        params = parse_qsl(url.query, keep_blank_values=True)
        if path == "/ws" or path.startswith("/ws/"):
            if params:
                return conn.respond(400, '{"code":-1,"msg":"Raw streams take no query parameters."}')
            names, combined = [n for n in path[len("/ws/") :].split("/") if n], False
        elif path == "/stream":
            if any(k != "streams" for k, _ in params) or len(params) > 1:
                return conn.respond(400, '{"code":-1,"msg":"Combined streams take only the streams parameter."}')
            names, combined = [n for n in (params[0][1] if params else "").split("/") if n], True
        else:
            return conn.respond(404, "Not Found: use /ws/<stream> or /stream?streams=<stream>/<stream>.\n")
        if any(parse_stream(n) is None for n in names):
            return conn.respond(400, '{"code":2,"msg":"Invalid request: invalid stream"}')
        names = list(dict.fromkeys(names))
        if len(names) > self.ex.stream_max_streams:
            return conn.respond(400, '{"code":2,"msg":"Invalid request: too many streams"}')
        conn.hub, conn.requested = self, (names, combined)
        # read per connection so that a test can change them between connections
        conn.ping_interval = self.ex.stream_ping_interval_s
        conn.ping_timeout = self.ex.stream_pong_timeout_s
        return None

    def process_response(self, conn: _Connection, request, response):
        # Register before the 101 goes out: a client that connects and then advances the
        # clock must get the events of that move, so the subscriptions exist already.
        if response.status_code == 101 and conn.hub is self and conn.state is State.CONNECTING:
            names, combined = conn.requested
            conn.session = StreamSession(combined, self.ex.stream_max_streams)
            conn.session.subscribe(names, self.ex.now_ms)
            conn.outbox = asyncio.Queue()
            conn.arrivals = collections.deque()
            self.connections.add(conn)
            self.stats.connections_total += 1
        return None

    def forget(self, conn: _Connection) -> None:
        self.connections.discard(conn)

    # ------------------------------------------------------------------ one connection
    async def handle(self, conn: _Connection) -> None:
        if conn.session is None or conn.outbox is None:
            return
        loop = asyncio.get_running_loop()
        sender = loop.create_task(self._send_queued(conn))
        # Binance: "a single connection is only valid for 24 hours"
        lifetime = loop.call_later(
            self.ex.stream_max_lifetime_s, conn.close_after_queued, 1001, "Connection lifetime exceeded"
        )
        try:
            async for message in conn:  # only messages admitted by the rate limit get here
                if isinstance(message, bytes):
                    message = message.decode("utf-8", "replace")
                conn.outbox.put_nowait(conn.session.answer(message, self.ex.now_ms))
                conn.data_answered += 1
                if conn.over_limit and conn.data_answered >= conn.data_admitted:
                    conn.close_after_queued(1008, "Too many requests")
        except ConnectionClosed:
            pass
        finally:
            lifetime.cancel()
            sender.cancel()
            self.forget(conn)

    async def _send_queued(self, conn: _Connection) -> None:
        assert conn.outbox is not None
        try:
            while True:
                item = await conn.outbox.get()
                if isinstance(item, _Close):
                    await conn.close(item.code, item.reason)  # returns once closed, never raises
                    return
                await conn.send(item)
                self.stats.messages_sent += 1
        except ConnectionClosed:
            pass

    def admit_message(self, conn: _Connection, is_data: bool) -> bool:
        """Count one incoming message; past the limit (within any 1 s), close with 1008 as Binance,
        once the messages let through before are answered."""
        arrivals = conn.arrivals
        if arrivals is None:  # not registered (a refused handshake): nothing to count
            return True
        now = time.monotonic()
        while arrivals and arrivals[0] <= now - 1.0:
            arrivals.popleft()
        arrivals.append(now)
        if len(arrivals) > self.ex.stream_messages_per_s:
            conn.over_limit = True
            if conn.data_answered >= conn.data_admitted:
                conn.close_after_queued(1008, "Too many requests")
            return False
        if is_data:
            conn.data_admitted += 1
        return True

    # ------------------------------------------------------------------ events
    def pump(self, partial: bool | None = None) -> None:
        """Queue the events every connection is owed at the market clock's current time."""
        now = self.ex.now_ms
        market = self.ex.market
        for conn in list(self.connections):
            if conn.session is None or conn.outbox is None or conn.over_limit or conn.closing:
                continue
            for text in conn.session.due(market, now, partial):
                conn.outbox.put_nowait(text)

    async def tick_forever(self) -> None:
        """With a real-time market clock: an update about every ``stream_update_s``, and each
        candle's close right at its boundary. A fixed clock only moves by ``advance``/``set_now``,
        which pump themselves."""
        loop = asyncio.get_running_loop()
        next_update = loop.time()
        while True:
            if self.ex.market_clock_is_fixed or not self.connections:
                next_update = loop.time() + self.ex.stream_update_s
                await asyncio.sleep(0.1)
                continue
            if loop.time() >= next_update:
                self.pump(partial=True)
                next_update = loop.time() + self.ex.stream_update_s
            else:  # woke for a candle boundary: the closes only
                self.pump(partial=False)
            to_close_s = self._ms_to_next_close(self.ex.now_ms) / 1000 + 0.002
            await asyncio.sleep(max(0.005, min(next_update - loop.time(), to_close_s)))

    def _ms_to_next_close(self, now: int) -> int:
        intervals = {
            sub.interval.name: sub.interval
            for conn in self.connections
            if conn.session
            for sub in conn.session.subscriptions.values()
        }
        if not intervals:
            return 3_600_000
        return min(iv.next(iv.floor(now)) - now for iv in intervals.values())

    # ------------------------------------------------------------------ test levers
    async def drop_all(self) -> int:
        """Cut every connection without a close frame (the client sees 1006), as a network cut."""
        conns = list(self.connections)
        for conn in conns:
            conn.transport.abort()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 1.0
        while self.connections and loop.time() < deadline:  # connection_lost runs on the next turns
            await asyncio.sleep(0.002)
        return len(conns)

    async def pause(self, seconds: float | None) -> int:
        self.paused_until = float("inf") if seconds is None else time.monotonic() + seconds
        return await self.drop_all()

    def resume(self) -> None:
        self.paused_until = 0.0


class StreamServer:
    """Owns the event loop thread and the listening socket of the streams."""

    def __init__(self, exchange: ExchangeStandIn, stats: StreamStats, host: str, port: int):
        self.hub = StreamHub(exchange, stats)
        self.host = host
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stopping: asyncio.Event | None = None
        self._thread = threading.Thread(
            target=self._run, args=(host, port), daemon=True, name="binance-stand-in-streams"
        )

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the stream server did not start within 10 s")
        if self._error is not None:
            raise self._error

    def _run(self, host: str, port: int) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve(host, port))
        finally:
            self._loop.close()

    async def _serve(self, host: str, port: int) -> None:
        hub = self.hub
        try:
            server = await serve(
                hub.handle,
                host,
                port,
                process_request=hub.process_request,
                process_response=hub.process_response,
                create_connection=_Connection,
                compression=None,  # Binance's stream servers send plain frames
                close_timeout=1.0,  # a client that never answers a close frame is cut after 1 s
                logger=_LOGGER,
            )
        except BaseException as e:  # e.g. the port is taken: report to start()
            self._error = e
            self._ready.set()
            return
        self.port = server.sockets[0].getsockname()[1]
        self._stopping = asyncio.Event()
        ticker = asyncio.get_running_loop().create_task(hub.tick_forever())
        self._ready.set()
        await self._stopping.wait()
        ticker.cancel()
        server.close(close_connections=False)
        await hub.drop_all()  # a stopping test double need not say goodbye
        try:
            await asyncio.wait_for(server.wait_closed(), 2.0)
        except TimeoutError:
            pass
        # leave no task behind for the closing loop to complain about
        rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)

    def call(self, fn, *args, timeout: float = 5.0):
        """Run ``fn(*args)`` (a function or coroutine function) in the loop; return its result."""
        if threading.get_ident() == self._thread.ident:
            raise RuntimeError("StreamServer.call from the stream loop itself")

        async def run():
            result = fn(*args)
            if asyncio.iscoroutine(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    def stop(self) -> None:
        if self._thread.is_alive() and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(5)
