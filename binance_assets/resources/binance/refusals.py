"""The exchange's refusals that no retry can fix, as errors that name the setting to change.

- HTTP 451: api.binance.com serves no one in a restricted location (the US among others), whatever
  is retried: point ``BINANCE_API_URL`` elsewhere.
- HTTP 403: Binance's web application firewall (CloudFront) blocked this IP, answering an HTML page:
  slow down or check the IP; retrying at once only hits the firewall again.
- code -1100 on ``symbol`` / ``symbols``: the symbol text breaks the exchange's format
  (``BINANCE_SYMBOLS``). ``settings.parse_symbols`` refuses such text before any request; this
  covers whatever reaches the exchange another way.

Each is a ``ConfigurationError``: the step fails at once, its message showing the status and a
one-line summary of the answer, never a whole page.
"""

import re
from typing import TYPE_CHECKING

from binance_assets.errors import ConfigurationError
from binance_assets.resources.binance.limits import describe
from binance_assets.settings import SYMBOL_FORMAT

if TYPE_CHECKING:  # python-binance is imported with a client, not by every process loading the definitions
    from binance.exceptions import BinanceAPIException

RESTRICTED_LOCATION = 451
FIREWALL = 403
ILLEGAL_CHARACTERS = -1100
SYMBOL_PARAMETERS = ("symbol", "symbols")


class RestrictedLocationError(ConfigurationError):
    """HTTP 451: the exchange refuses this machine's location."""


class FirewallBlockedError(ConfigurationError):
    """HTTP 403: the exchange's web application firewall blocked the request."""


class IllegalSymbolError(ConfigurationError):
    """-1100 on a symbol parameter: the symbol text is not in the exchange's format."""


def refusal(error: "BinanceAPIException", base_url: str) -> ConfigurationError | None:
    """The clear error for a refusal caused by where, how fast or with which symbols we ask; None otherwise."""
    if error.status_code == RESTRICTED_LOCATION:
        return RestrictedLocationError(
            f"{base_url} refuses requests from this machine's location ({describe(error)}). Set BINANCE_API_URL "
            "to an endpoint you may use (e.g. https://api.binance.us for a Binance.US account), or work offline "
            "against the exchange stand-in (`python -m binance_stand_in`, see README)."
        )
    if error.status_code == FIREWALL:
        return FirewallBlockedError(
            f"{base_url} blocked this request at its firewall ({describe(error)}): too many requests from this IP, "
            "or the IP itself is blocked. Slow down (fewer runs at once, no other clients on this IP) or check the "
            "machine's IP / proxy, then rerun; BINANCE_API_URL chooses the endpoint."
        )
    parameter = re.search(r"parameter '(\w+)'", str(error.message))
    if error.code == ILLEGAL_CHARACTERS and parameter and parameter.group(1) in SYMBOL_PARAMETERS:
        return IllegalSymbolError(
            f"Binance refused the symbol text ({describe(error)}). Fix BINANCE_SYMBOLS: {SYMBOL_FORMAT}"
        )
    return None
