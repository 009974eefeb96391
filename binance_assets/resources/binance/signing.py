"""Signed (USER_DATA) requests: credentials, and the exchange's refusals turned into clear errors.

The key and the secret stay inside python-binance's client: the key travels only in the
``X-MBX-APIKEY`` header and the secret only as the HMAC of the query string. No message built
here quotes a request, a header or a URL, and every error is raised ``from None`` so the
exchange's exception (whose ``.request`` holds the headers) is not chained into Dagster's logs.
"""

from typing import TYPE_CHECKING

from binance_assets.errors import ConfigurationError

if TYPE_CHECKING:
    from binance.exceptions import BinanceAPIException

KEY_VARIABLE = "BINANCE_API_KEY"
SECRET_VARIABLE = "BINANCE_API_SECRET"

CLOCK_SKEW = -1021
BAD_SIGNATURE = -1022
BAD_KEY_FORMAT = -2014
KEY_REJECTED = -2015
MAX_RECV_WINDOW_MS = 60_000


class MissingCredentialsError(ConfigurationError):
    """A signed endpoint was asked for without an API key and secret."""


class CredentialsRejectedError(ConfigurationError):
    """-2014 / -2015: the exchange does not accept this API key (format, IP or permissions)."""


class BadSignatureError(ConfigurationError):
    """-1022: the HMAC does not verify: the secret does not belong to the key."""


class ClockSkewError(RuntimeError):
    """-1021 even after syncing with the exchange's clock."""


def missing_variables(api_key: str | None, api_secret: str | None) -> list[str]:
    return [name for name, value in ((KEY_VARIABLE, api_key), (SECRET_VARIABLE, api_secret)) if not value]


def require(api_key: str | None, api_secret: str | None, what: str) -> None:
    missing = missing_variables(api_key, api_secret)
    if missing:
        raise MissingCredentialsError(
            f"{what} need a Binance API key: {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set. Set {KEY_VARIABLE} and {SECRET_VARIABLE} "
            "(a read-only key is enough; for the Spot testnet use testnet keys and BINANCE_TESTNET=1). "
            "Public market data (klines, order book, symbols) keeps working without them."
        )


def credential_error(error: "BinanceAPIException", endpoint: str, testnet: bool) -> Exception | None:
    """The clear error for an exchange refusal caused by the credentials, or None if it is not one."""
    said = f"code {error.code}: {error.message}"
    where = "the Spot testnet" if testnet else "Binance"
    other = "production" if testnet else "testnet"
    if error.code in (BAD_KEY_FORMAT, KEY_REJECTED):
        return CredentialsRejectedError(
            f"{where} rejected the API key for {endpoint} ({said}). Check {KEY_VARIABLE}: the key must exist on "
            f"{where} (BINANCE_TESTNET={'1' if testnet else '0'}; {other} keys do not work here), have reading "
            "enabled, and allow this machine's IP if the key is IP-restricted."
        )
    if error.code == BAD_SIGNATURE:
        return BadSignatureError(
            f"{where} could not verify the request signature for {endpoint} ({said}). {SECRET_VARIABLE} "
            f"does not belong to {KEY_VARIABLE}: set the secret shown when the key was created "
            "(no quotes or trailing spaces)."
        )
    return None


def clock_skew_error(
    error: "BinanceAPIException", endpoint: str, offset_ms: int, recv_window_ms: int
) -> ClockSkewError:
    return ClockSkewError(
        f"Binance refused the request timestamp for {endpoint} twice (code {error.code}: {error.message}), the "
        f"second time after syncing with the exchange clock (local clock off by {offset_ms:+,} ms). The clock "
        f"is drifting or requests take longer than recvWindow ({recv_window_ms:,} ms): sync this machine's "
        "clock (NTP) and rerun."
    )
