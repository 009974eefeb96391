"""HTTP side of the stand-in: a ThreadingHTTPServer (HTTP/1.1, keep-alive) in a daemon
thread, the request pipeline (ban -> route -> weight -> fault -> handler) and responses.
Archive paths (``/data/...``) take a pipeline of their own (fault -> file): the real
archive is another host, without weight, bans or ``X-MBX-*`` headers.
"""

from __future__ import annotations

import base64
import email.utils
import json
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import parse_qsl

from . import archive, edge, errors
from .routes import ROUTES

if TYPE_CHECKING:  # pragma: no cover
    from .exchange import ExchangeStandIn

FAULT_KINDS = ("500", "502", "503", "truncated", "timeout", "429", "451", "403")
_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    418: "I'm a teapot",
    429: "Too Many Requests",
    451: "Unavailable For Legal Reasons",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
_BAD_GATEWAY_HTML = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)


class RequestRecord(NamedTuple):
    """One request the stand-in answered."""

    method: str
    path: str
    params: dict
    weight: int  # weight charged to the window (0 when refused by 418/429 or 404/405)
    status: int  # HTTP status sent (200 for "truncated" and "timeout" faults)


class Fault(NamedTuple):
    kind: str
    seconds: float
    path: str | None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, exchange: ExchangeStandIn):
        self.exchange = exchange
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request, client_address):
        with self.conn_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.conn_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self.conn_lock:
            conns = list(self.connections)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "stand-in"
    sys_version = ""

    def log_message(self, format, *args):  # noqa: A002 - quiet
        pass

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_HEAD(self):
        self._dispatch("HEAD")

    # ------------------------------------------------------------------ pipeline
    def _dispatch(self, method: str) -> None:
        ex: ExchangeStandIn = self.server.exchange  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        path, _, raw_query = self.path.partition("?")
        if ex.restricted_location:  # the edge refuses the caller's location before anything else
            self._edge(ex, method, path, raw_query, edge.restricted_location())
            return
        if path.startswith(archive.ARCHIVE_PREFIX):
            self._dispatch_archive(ex, method, path, raw_query)
            return
        route = ROUTES.get(path)
        weight = 0
        fault: Fault | None = None
        extra: dict[str, str] = {}
        record_params: dict = {}
        try:
            record_params = dict(parse_qsl(raw_query, keep_blank_values=True))
            if route is None or method != "GET":
                if ex.limiter.banned_for() > 0:
                    ex.limiter.admit(0)  # raises the 418
                if route is None:
                    raise errors.ApiError(404, -1000, f"Unknown endpoint: {method} {path}")
                raise errors.ApiError(405, -1000, f"Method {method} is not allowed for {path}; use GET.")
            duplicate = None
            try:
                params = errors.Params(parse_qsl(raw_query, keep_blank_values=True))
            except errors.ApiError as e:
                duplicate, params = e, errors.Params([])
            w = route.weight(params)
            ex.limiter.admit(w)
            weight = w
            if duplicate is not None:
                raise duplicate
            if route.data:
                fault = ex._take_fault(path)
            if fault is not None:
                if fault.kind == "timeout":
                    ex._sleep(fault.seconds)
                elif fault.kind == "429":
                    ex.limiter.refund(weight)
                    weight = 0
                    ex.limiter.note_retry_after(max(1.0, fault.seconds))
                    raise ex.limiter.too_much_weight(max(1, int(fault.seconds)))
                elif fault.kind == "500":
                    raise errors.unknown_error()
                elif fault.kind == "503":
                    raise errors.ApiError(
                        503,
                        -1008,
                        "Server is currently overloaded with other requests. Please try again in a few minutes.",
                    )
                elif fault.kind == "502":
                    self._finish(ex, method, path, record_params, weight, 502, _BAD_GATEWAY_HTML, "text/html", {})
                    return
                elif fault.kind in ("451", "403"):  # answered in front of the API: not charged
                    ex.limiter.refund(weight)
                    answer = (
                        edge.restricted_location()
                        if fault.kind == "451"
                        else edge.waf_forbidden(_cloudfront_request_id())
                    )
                    self._edge(ex, method, path, raw_query, answer)
                    return
            if ex.arrival_delay_s:  # a slow link: the request reaches the exchange late
                ex._sleep(ex.arrival_delay_s)
            body = route.handler(ex, params, self.headers, raw_query)
            params.check_all_read()
            status, payload = 200, body.encode()
        except errors.ApiError as e:
            status = e.status
            payload = ('{"code":%d,"msg":%s}' % (e.code, _json_str(e.msg))).encode()
            extra = e.headers
        except Exception as e:  # a bug in the stand-in: answer like Binance's -1000
            status = 500
            payload = ('{"code":-1000,"msg":%s}' % _json_str(f"An unknown error occurred: {e!r}")).encode()
        truncated = fault is not None and fault.kind == "truncated" and status == 200
        self._finish(
            ex,
            method,
            path,
            record_params,
            weight,
            status,
            payload,
            "application/json;charset=UTF-8",
            extra,
            truncated=truncated,
        )

    def _dispatch_archive(self, ex, method: str, path: str, raw_query: str) -> None:
        """data.binance.vision: only faults aimed at this very path (``fail_next(path=...)``)."""
        params = dict(parse_qsl(raw_query, keep_blank_values=True))
        fault = ex._take_fault(path, scoped_only=True)
        if fault is not None:
            if fault.kind == "timeout":
                ex._sleep(fault.seconds)
            elif fault.kind == "502":
                self._finish(ex, method, path, params, 0, 502, _BAD_GATEWAY_HTML, "text/html", {}, api_headers=False)
                return
            elif fault.kind in ("429", "500", "503"):
                status = int(fault.kind)
                answer = archive.s3_fault(status, path)
                extra = {"Retry-After": str(max(1, int(fault.seconds)))} if status == 429 else {}
                self._finish(
                    ex, method, path, params, 0, status, answer.body, answer.content_type, extra, api_headers=False
                )
                return
        if ex.arrival_delay_s:
            ex._sleep(ex.arrival_delay_s)
        try:
            answer = ex.archive.respond(method, path, ex.now_ms)
        except Exception as e:  # a bug in the stand-in
            answer = archive.s3_fault(500, path, f"An unknown error occurred: {e!r}")
        truncated = fault is not None and fault.kind == "truncated" and answer.status == 200
        self._finish(
            ex,
            method,
            path,
            params,
            0,
            answer.status,
            answer.body,
            answer.content_type,
            answer.headers,
            truncated=truncated,
            api_headers=False,
        )

    def _edge(self, ex, method, path, raw_query, answer: edge.EdgeAnswer) -> None:
        """An answer from in front of the API: no weight, no X-MBX-USED-WEIGHT headers."""
        params = dict(parse_qsl(raw_query, keep_blank_values=True))
        self._finish(
            ex,
            method,
            path,
            params,
            0,
            answer.status,
            answer.body,
            answer.content_type,
            answer.headers,
            api_headers=False,
        )

    def _finish(
        self,
        ex,
        method,
        path,
        params,
        weight,
        status,
        payload: bytes,
        ctype: str,
        extra: dict,
        truncated: bool = False,
        api_headers: bool = True,
    ) -> None:
        if ex.latency_s:
            ex._sleep(ex.latency_s)
        lines = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}",
            f"Content-Type: {ctype}",
            f"Content-Length: {len(payload)}",
            f"Date: {email.utils.formatdate(usegmt=True)}",
        ]
        if api_headers:  # api.binance.com's weight headers (not the archive's)
            used = ex.limiter.used()
            lines += [f"X-MBX-USED-WEIGHT-1M: {used}", f"X-MBX-USED-WEIGHT: {used}"]
        lines += [f"{k}: {v}" for k, v in extra.items()]
        if truncated:
            self.close_connection = True
            lines.append("Connection: close")
            payload = payload[: len(payload) // 2]
        ex._record(RequestRecord(method, path, params, weight, status))
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if method != "HEAD":
            data += payload
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:  # the client gave up (e.g. a "timeout" fault)
            self.close_connection = True


def _json_str(s: str) -> str:
    return json.dumps(s)


def _cloudfront_request_id() -> str:
    """56 characters, like the Request ID on CloudFront's error pages."""
    return base64.urlsafe_b64encode(os.urandom(42)).decode()


class HttpServerThread:
    """Owns the listening socket and the serving thread."""

    def __init__(self, exchange: ExchangeStandIn, host: str, port: int):
        self._server = _Server((host, port), exchange)
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"binance-stand-in:{self.port}",
            daemon=True,
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
