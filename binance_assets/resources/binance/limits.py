"""Good-citizen rate limiting: stay under the exchange's weight budget, back off when told to.

Binance limits request weight per IP per minute (6000) and says how much of it is used in the
``X-MBX-USED-WEIGHT-1M`` header of every response. We slow down *before* the budget runs out; a
429 means wait exactly ``Retry-After``; a 418 means we are banned and any further request
lengthens the ban, so it stops the run instead of being retried.
"""

import html
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from binance_assets.errors import NotRetryable

if TYPE_CHECKING:
    from binance.exceptions import BinanceAPIException

WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"
# python-binance's message for an error body that is not JSON (a CDN or firewall page), followed by the whole body.
NOT_JSON = "Invalid JSON error message from Binance: "
SUMMARY_CHARS = 160


class ExchangeUnavailableError(RuntimeError):
    """The exchange kept failing (5xx, timeouts, 429s) after every retry. The step's RetryPolicy retries it."""


class ExchangeBannedError(NotRetryable, RuntimeError):
    """HTTP 418: the exchange banned this IP. Retrying would extend the ban, so no layer retries it."""


@dataclass
class RequestStats:
    requests: int = 0
    weight_used: int = 0
    rate_limited: int = 0
    retries: int = 0
    waited_s: float = 0.0
    by_endpoint: dict[str, int] = field(default_factory=dict)

    def as_metadata(self) -> dict:
        return {
            "exchange_requests": self.requests,
            "exchange_weight_used": self.weight_used,
            "exchange_429s": self.rate_limited,
            "exchange_retries": self.retries,
            "exchange_wait_s": round(self.waited_s, 3),
        }


class WeightGovernor:
    """Tracks the exchange's used-weight header and sleeps before a request would cross the budget."""

    def __init__(
        self,
        budget: int,
        headroom: float,
        window_s: int,
        log: logging.Logger,
        stats: RequestStats,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.limit = int(budget * headroom)
        self.window_s = window_s
        self.log = log
        self.stats = stats
        self.clock = clock
        self.sleep = sleep
        self.used = 0
        self.window = self._window()

    def _window(self) -> int:
        return int(self.clock() // self.window_s)

    def before_request(self, weight: int) -> None:
        if self._window() != self.window:
            self.window, self.used = self._window(), 0
        if self.used + weight > self.limit:
            pause = (self.window + 1) * self.window_s - self.clock() + 0.05
            self.log.info(
                f"Exchange weight {self.used}/{self.limit} used this window: pausing {pause:.2f}s until it resets."
            )
            self.stats.waited_s += max(pause, 0)
            self.sleep(max(pause, 0))
            self.window, self.used = self._window(), 0
        self.used += weight  # optimistic until the response tells the truth

    def after_response(self, headers) -> None:
        reported = headers.get(WEIGHT_HEADER) if headers is not None else None
        if reported is not None:
            self.window, self.used = self._window(), int(reported)


def _status(error: BaseException) -> int | None:
    """The HTTP status of a refused request: python-binance's exception, or requests' (the archive)."""
    # Imported here: the client and the archive import them already, and most step processes use neither.
    import requests
    from binance.exceptions import BinanceAPIException

    if isinstance(error, BinanceAPIException):
        return error.status_code
    if isinstance(error, requests.HTTPError) and error.response is not None:
        return error.response.status_code
    return None


def is_transient(error: BaseException) -> bool:
    """Worth retrying: rate limited (429), server side (5xx), timeouts, dropped or truncated bodies."""
    import requests
    from binance.exceptions import BinanceRequestException

    status = _status(error)
    if status is not None:
        return status == 429 or status >= 500
    return isinstance(error, (requests.RequestException, BinanceRequestException))


def retry_after_s(error: BaseException) -> float | None:
    response = getattr(error, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def retrying(
    max_retries: int,
    backoff_s: float,
    log: logging.Logger,
    stats: RequestStats,
    retry_on: Callable[[BaseException], bool] = is_transient,
    what: str = "Exchange request",
) -> Retrying:
    """tenacity policy: ``Retry-After`` for 429s, exponential backoff with jitter otherwise."""

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception()
        told = retry_after_s(error) if _status(error) == 429 else None
        pause = told if told is not None else backoff_s * 2 ** (state.attempt_number - 1) * (1 + random.random() / 4)
        stats.waited_s += pause
        return pause

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception()
        stats.retries += 1
        if _status(error) == 429:
            stats.rate_limited += 1
        log.warning(
            f"{what} failed ({describe(error)}); retry {state.attempt_number}/{max_retries} "
            f"in {state.next_action.sleep:.2f}s."
        )

    return Retrying(
        retry=retry_if_exception(retry_on),
        stop=stop_after_attempt(max_retries + 1),
        wait=wait,
        before_sleep=before_sleep,
        reraise=True,
    )


def describe(error: BaseException) -> str:
    """One line, whatever the exchange answered: ``HTTP 503, code -1001: …`` or ``HTTP 502, not JSON (…)``."""
    from binance.exceptions import BinanceAPIException

    status = _status(error)
    if isinstance(error, BinanceAPIException):
        return f"HTTP {status}, {answer_summary(error)}"
    if status is not None:
        return f"HTTP {status}"
    return str(error) if isinstance(error, ValueError) else type(error).__name__


def answer_summary(error: "BinanceAPIException") -> str:
    """The exchange's JSON code and message, or for any other body (an HTML page) its content type and
    title, on one line: never the whole page."""
    if not str(error.message).startswith(NOT_JSON):
        return f"code {error.code}: {_one_line(str(error.message))}"
    body = str(error.message)[len(NOT_JSON) :]
    headers = error.response.headers if error.response is not None else {}
    kind = headers.get("Content-Type", "unknown type").split(";")[0]
    title = re.search(r"<title[^>]*>(.*?)</title>", body, re.IGNORECASE | re.DOTALL)
    text = title.group(1) if title else re.sub(r"<[^>]+>", " ", body)
    return f"not JSON ({kind}: {_one_line(html.unescape(text)) or 'empty body'!r})"


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= SUMMARY_CHARS else line[: SUMMARY_CHARS - 1] + "…"
