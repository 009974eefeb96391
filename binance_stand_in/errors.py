"""Binance error codes and request-parameter parsing for the stand-in.

Errors are raised as :class:`ApiError` and rendered by the server as
``{"code": <int>, "msg": "..."}`` with the HTTP status Binance uses.
"""

from __future__ import annotations

import json
import re

_INT_RE = re.compile(r"^-?[0-9]{1,20}$")
_SYMBOL_RE = re.compile(r"^[A-Z0-9\-_.]{1,20}$")
SYMBOL_LEGAL_RANGE = "^[A-Z0-9-_.]{1,20}$"
# ``symbols`` is checked as sent, so a space after a comma is as illegal as lower case or '/'
SYMBOLS_LEGAL_RANGE = '^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$'
_SYMBOLS_RE = re.compile(r'^\[("[A-Z0-9\-_.]{1,20}"(,"[A-Z0-9\-_.]{1,20}")*)?\]$')


class ApiError(Exception):
    """An error answered as Binance does: HTTP status + ``{"code", "msg"}``."""

    def __init__(self, status: int, code: int, msg: str, headers: dict[str, str] | None = None):
        super().__init__(f"{status} {code} {msg}")
        self.status = status
        self.code = code
        self.msg = msg
        self.headers = headers or {}


# --- the error catalogue (messages as on api.binance.com) -------------------------------------


def unknown_error() -> ApiError:
    return ApiError(500, -1000, "An unknown error occurred while processing the request.")


def illegal_chars(name: str, legal: str = "^-?[0-9]{1,20}$") -> ApiError:
    return ApiError(400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal}'.")


def duplicate_param(name: str) -> ApiError:
    return ApiError(400, -1101, f"Duplicate values for parameter '{name}'.")


def mandatory(name: str) -> ApiError:
    return ApiError(400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def unread_params(read: int, sent: int) -> ApiError:
    return ApiError(400, -1104, f"Not all sent parameters were read; read '{read}' parameter(s) but was sent '{sent}'.")


def bad_interval() -> ApiError:
    return ApiError(400, -1120, "Invalid interval.")


def bad_symbol() -> ApiError:
    return ApiError(400, -1121, "Invalid symbol.")


def start_after_end() -> ApiError:
    return ApiError(400, -1023, "Start time is greater than end time.")


def too_long_window(hours: int = 24) -> ApiError:
    return ApiError(400, -1127, f"More than {hours} hours between startTime and endTime.")


def invalid_param(name: str) -> ApiError:
    return ApiError(400, -1130, f"Data sent for parameter '{name}' is not valid.")


def bad_recv_window() -> ApiError:
    return ApiError(400, -1131, "recvWindow must be less than 60000")


def timestamp_outside() -> ApiError:
    return ApiError(400, -1021, "Timestamp for this request is outside of the recvWindow.")


def timestamp_ahead() -> ApiError:
    return ApiError(400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.")


def bad_signature() -> ApiError:
    return ApiError(400, -1022, "Signature for this request is not valid.")


def bad_api_key_format() -> ApiError:
    return ApiError(401, -2014, "API-key format invalid.")


def rejected_api_key() -> ApiError:
    return ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")


# --- parameter helpers ------------------------------------------------------------------------


class Params:
    """The query parameters of one request; tracks which ones the endpoint read (-1104)."""

    def __init__(self, pairs: list[tuple[str, str]]):
        self.values: dict[str, str] = {}
        for key, value in pairs:
            if key in self.values:
                raise duplicate_param(key)
            self.values[key] = value
        self._read: set[str] = set()

    def raw(self, name: str) -> str | None:
        self._read.add(name)
        value = self.values.get(name)
        return None if value is None or value == "" else value

    def require(self, name: str) -> str:
        value = self.raw(name)
        if value is None:
            raise mandatory(name)
        return value

    def int(self, name: str, default: int | None = None, required: bool = False) -> int | None:
        value = self.require(name) if required else self.raw(name)
        if value is None:
            return default
        if not _INT_RE.match(value):
            raise illegal_chars(name)
        return int(value)

    def symbol(self, name: str = "symbol", required: bool = True) -> str | None:
        value = self.require(name) if required else self.raw(name)
        if value is None:
            return None
        if not _SYMBOL_RE.match(value):
            raise illegal_chars(name, SYMBOL_LEGAL_RANGE)
        return value

    def symbol_list(self, name: str = "symbols") -> list[str] | None:
        """A JSON list of symbols, e.g. ``["BTCUSDT","ETHUSDT"]`` (no spaces), as exchangeInfo takes."""
        value = self.raw(name)
        if value is None:
            return None
        if not _SYMBOLS_RE.match(value) or value == "[]":
            raise illegal_chars(name, SYMBOLS_LEGAL_RANGE)
        return json.loads(value)

    def ignore(self, *names: str) -> None:
        """Mark parameters as read without using them (e.g. klines' timeZone)."""
        self._read.update(names)

    def check_all_read(self) -> None:
        sent = len(self.values)
        read = len(self._read & set(self.values))
        if read != sent:
            raise unread_params(read, sent)
