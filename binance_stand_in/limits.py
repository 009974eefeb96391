"""Request-weight limits as api.binance.com enforces them per IP.

- Weight is counted in fixed windows of ``window_s`` seconds of the *real* wall clock
  (``floor(time.time() / window_s)``), whatever the stand-in's fake ``now_ms``.
- A request that would push the window's weight past ``limit`` gets HTTP 429, code -1003,
  ``Retry-After`` = whole seconds until the window resets (at least 1). It is not counted.
- Hammering: a request that arrives while a 429's ``Retry-After`` is still running is a
  violation. ``grace`` violations are tolerated (they are answered normally, i.e. usually
  429 again); the next one bans the IP: HTTP 418, code -1003, ``Retry-After`` = remaining
  ban, for every request during ``ban_s`` seconds. Banned/limited requests add no weight.
"""

from __future__ import annotations

import math
import threading
import time

from . import errors


class RateLimiter:
    def __init__(
        self, limit: int = 6000, window_s: float = 60.0, ban_s: float = 120.0, grace: int = 1, clock=time.time
    ):
        self.limit = limit
        self.window_s = window_s
        self.ban_s = ban_s
        self.grace = grace
        self._clock = clock
        self._lock = threading.Lock()
        self._window = -1
        self._used = 0
        self._retry_until = 0.0
        self._violations = 0
        self._banned_until = 0.0

    # ------------------------------------------------------------------ state
    def _roll(self, now: float) -> None:
        w = int(now // self.window_s)
        if w != self._window:
            self._window, self._used = w, 0

    def used(self) -> int:
        with self._lock:
            self._roll(self._clock())
            return self._used

    def banned_for(self) -> float:
        with self._lock:
            return max(0.0, self._banned_until - self._clock())

    def reset(self) -> None:
        """Forget weight, 429s and bans (tests)."""
        with self._lock:
            self._window, self._used = -1, 0
            self._retry_until, self._violations, self._banned_until = 0.0, 0, 0.0

    def _seconds_to_reset(self, now: float) -> int:
        return max(1, math.ceil((self._window + 1) * self.window_s - now))

    # ------------------------------------------------------------------ checks
    def admit(self, weight: int) -> int:
        """Charge ``weight`` or raise the 418/429 ApiError. Returns the window's used weight."""
        with self._lock:
            now = self._clock()
            self._roll(now)
            if now < self._banned_until:
                raise self._ban_error(now)
            if self._banned_until:  # a ban just ended: start afresh
                self._banned_until, self._violations, self._retry_until = 0.0, 0, 0.0
            if now < self._retry_until:
                self._violations += 1
                if self._violations > self.grace:
                    self._banned_until = now + self.ban_s
                    raise self._ban_error(now)
            else:
                self._violations = 0
            if self._used + weight > self.limit:
                retry = self._seconds_to_reset(now)
                self._retry_until = max(self._retry_until, (self._window + 1) * self.window_s)
                raise self.too_much_weight(retry)
            self._used += weight
            return self._used

    def refund(self, weight: int) -> None:
        """Take back weight charged to the current window (an injected 429 is not charged)."""
        with self._lock:
            self._used = max(0, self._used - weight)

    def note_retry_after(self, seconds: float) -> None:
        """An (injected) 429 told the client to wait ``seconds``: hammering rules apply."""
        with self._lock:
            self._retry_until = max(self._retry_until, self._clock() + seconds)

    def too_much_weight(self, retry_after: int) -> errors.ApiError:
        """The 429 answer, with ``Retry-After`` seconds."""
        return errors.ApiError(
            429,
            -1003,
            f"Too much request weight used; current limit is {self.limit} request weight per "
            f"{self._window_text()}. Please use WebSocket Streams for live updates to avoid polling the API.",
            {"Retry-After": str(retry_after)},
        )

    def _ban_error(self, now: float) -> errors.ApiError:
        retry = max(1, math.ceil(self._banned_until - now))
        until_ms = int(self._banned_until * 1000)
        return errors.ApiError(
            418,
            -1003,
            f"Way too much request weight used; IP banned until {until_ms}. Please use WebSocket Streams for "
            "live updates to avoid bans.",
            {"Retry-After": str(retry)},
        )

    def _window_text(self) -> str:
        return "1M" if self.window_s == 60 else f"{self.window_s:g}S"
