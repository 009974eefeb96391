"""Deterministic synthetic prices: symbols, a hash-seeded price path and number formatting.

Everything is a pure function of (symbol, time): no state, no precomputation, so any
point of a multi-year history costs the same few integer hashes. Amounts are integers
in units of 1e-8 ("units") and are formatted exactly with 8 decimals.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from .intervals import DAY_MS, HOUR_MS, MINUTE_MS

M64 = (1 << 64) - 1
UNIT = 100_000_000  # 1e8 units per whole coin / quote unit


def mix64(x: int) -> int:
    """splitmix64 finaliser: a fast, well-spread 64-bit integer hash."""
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def seed_of(*parts: object) -> int:
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def fmt8(units: int) -> str:
    """Integer 1e-8 units -> Binance string with exactly 8 decimals ("67123.45678901")."""
    if units < 0:
        return "-" + fmt8(-units)
    return "%d.%08d" % divmod(units, UNIT)


def fmt_decimals(units: int, decimals: int = 8) -> str:
    """Integer 1e-8 units -> a string with exactly ``decimals`` decimals (1..8), e.g. "1.0" or
    "0.000000"; refuses a value that string would round (order amounts stay exact)."""
    if decimals == 8:
        return fmt8(units)
    quantum = 10 ** (8 - decimals)
    if units % quantum:
        raise ValueError(f"{fmt8(units)} has more than {decimals} decimals")
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units) // quantum, 10**decimals)
    return f"{sign}{whole}.{frac:0{decimals}d}"


def to_units(value: object) -> int:
    """A decimal string / int / Decimal -> integer 1e-8 units (exact; extra digits rejected)."""
    from decimal import Decimal

    d = Decimal(str(value)) * UNIT
    if d != d.to_integral_value():
        raise ValueError(f"{value!r} has more than 8 decimals")
    return int(d)


QUOTE_ASSETS = ("FDUSD", "USDT", "USDC", "BUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY", "USD")
BTCUSDT_LISTED_MS = 1_502_942_400_000  # 2017-08-17 04:00 UTC, the first BTCUSDT kline

# symbol: (base price, price decimals (tick), quantity decimals (step), base volume / minute, listed)
_KNOWN = {
    "BTCUSDT": (62_000.0, 2, 5, 12.0, BTCUSDT_LISTED_MS),
    "ETHUSDT": (3_100.0, 2, 4, 260.0, BTCUSDT_LISTED_MS),
    "BNBUSDT": (560.0, 2, 3, 700.0, 1_509_940_800_000),
    "BTCUSD": (62_000.0, 2, 5, 0.6, 1_568_937_600_000),
    "ETHBTC": (0.05, 5, 4, 40.0, 1_500_004_800_000),
    "SOLUSDT": (150.0, 2, 3, 2_500.0, 1_597_125_600_000),
    # a meme coin below 1e-4: tick 1e-8, so every price uses the 8th decimal ("0.00001834")
    "SHIBUSDT": (0.000018, 8, 0, 5_000_000_000.0, 1_620_644_400_000),
}


@dataclass
class SymbolSpec:
    """How one symbol looks and trades on the stand-in (see ``ExchangeStandIn(symbols=...)``)."""

    symbol: str
    base_asset: str
    quote_asset: str
    base_price: float
    price_decimals: int  # tickSize = 10**-price_decimals
    qty_decimals: int  # stepSize = 10**-qty_decimals
    volume_per_min: float  # mean base volume traded per minute
    listed_ms: int  # first trade; no candle closes before it
    status: str = "TRADING"
    seed: int = field(default=0)
    # decimals of allOrders amounts, as exchangeInfo's baseAssetPrecision / quoteAssetPrecision:
    # base for quantities (origQty, executedQty, icebergQty, preventedQuantity), quote for price,
    # stopPrice, cummulativeQuoteQty, origQuoteOrderQty. 8 on most api.binance.com symbols; other
    # symbols send "1.0" or "0.000000". Klines and depth keep 8 decimals whatever these say.
    base_precision: int = 8
    quote_precision: int = 8
    # share of 1m candles in which nobody traded (illiquid symbols): number of trades 0, volumes 0,
    # open = high = low = close = the previous close. 0 for the liquid default symbols.
    idle_minute_share: float = 0.0

    def __post_init__(self) -> None:
        for name in ("price_decimals", "qty_decimals", "base_precision", "quote_precision"):
            if not 0 <= getattr(self, name) <= 8:
                raise ValueError(f"{name} must be within 0..8")
        if self.price_decimals > self.quote_precision or self.qty_decimals > self.base_precision:
            raise ValueError("tick and step cannot have more decimals than the quote / base precision")
        if not 0.0 <= self.idle_minute_share < 1.0:
            raise ValueError("idle_minute_share must be within [0, 1)")

    @property
    def tick_units(self) -> int:
        return 10 ** (8 - self.price_decimals)

    @property
    def step_units(self) -> int:
        return 10 ** (8 - self.qty_decimals)

    @classmethod
    def make(cls, symbol: str, listed_ms: int | None = None, **overrides) -> SymbolSpec:
        """The stand-in's spec of ``symbol``, with any field overridden, e.g.
        ``SymbolSpec.make("LTCBTC", base_precision=1, quote_precision=6)`` or
        ``SymbolSpec.make("PEPEUSDT", base_price=0.00000987, idle_minute_share=0.4)``. Ticks, steps
        and volume follow an overridden ``base_price`` unless given too, and are coarsened to
        overridden precisions."""
        symbol = symbol.upper()
        quote = next((q for q in QUOTE_ASSETS if symbol.endswith(q) and len(symbol) > len(q)), symbol[-4:])
        base = symbol[: -len(quote)]
        seed = seed_of("symbol", symbol)
        if symbol in _KNOWN and "base_price" not in overrides:
            price, pdec, qdec, vol, listed = _KNOWN[symbol]
        else:
            # a price between 0.01 and ~2000 unless given, ticks and steps to match
            price = overrides.get("base_price") or round(0.01 * 10 ** ((seed >> 8) % 5_300 / 1_000), 6)
            pdec = 2 if price >= 100 else 4 if price >= 1 else 6 if price >= 0.01 else 8
            qdec = 3 if price >= 100 else 1 if price >= 1 else 0
            vol = max(1.0, 300_000.0 / price / 60)
            listed = _KNOWN[symbol][4] if symbol in _KNOWN else BTCUSDT_LISTED_MS
        if listed_ms is not None:
            listed = listed_ms
        fields = dict(
            symbol=symbol,
            base_asset=base,
            quote_asset=quote,
            base_price=price,
            price_decimals=pdec,
            qty_decimals=qdec,
            volume_per_min=vol,
            listed_ms=listed,
            seed=seed,
        )
        fields.update(overrides)
        if "price_decimals" not in overrides:
            fields["price_decimals"] = min(fields["price_decimals"], fields.get("quote_precision", 8))
        if "qty_decimals" not in overrides:
            fields["qty_decimals"] = min(fields["qty_decimals"], fields.get("base_precision", 8))
        return cls(**fields)


# (period, amplitude) of the value-noise components of the price path: slow trends to ticks
_COMPONENTS = (
    (90 * DAY_MS, 0.20),
    (7 * DAY_MS, 0.07),
    (DAY_MS, 0.03),
    (HOUR_MS, 0.008),
    (5 * MINUTE_MS, 0.0025),
    (MINUTE_MS, 0.0010),
)
_SECOND_AMP = 0.0002  # the finest component: one knot per second
_EXACT_EVERY = 37  # about one price point in 37 carries all 8 decimals ("67123.45678901")
_TO_UNIT = 2.0**-52


class PricePath:
    """Price of a symbol at any millisecond: ``base * (1 + sum of value-noise components)``.

    Each component interpolates linearly between hash-drawn knots; only IEEE +, *, / are
    used (no libm), so the values are identical on every platform.
    """

    def __init__(self, spec: SymbolSpec):
        self.spec = spec
        self._comp = tuple(
            (period, amp, mix64(spec.seed ^ (k + 1) * 0x51ED2701)) for k, (period, amp) in enumerate(_COMPONENTS)
        )
        self._sec_seed = mix64(spec.seed ^ 0xE8AC7)
        self._tick = spec.tick_units
        self._scale = spec.base_price * 10**spec.price_decimals

    def units_at(self, t: int) -> int:
        """Price in 1e-8 units at ms ``t``."""
        return self.units_many((t,))[0]

    def units_many(self, times) -> list[int]:
        """Prices of many times; fastest when ``times`` is sorted (knots are reused)."""
        times = [t if t > 0 else 0 for t in times]
        parts = [_component(times, period, amp, seed) for period, amp, seed in self._comp]
        sec_seed, tick, scale = self._sec_seed, self._tick, self._scale
        out = []
        for t, v in zip(times, map(sum, zip(*parts))):
            # finest component: knots every second, drawn by the hash that also picks "exact" prices
            q, r = divmod(t, 1000)
            h = mix64(sec_seed ^ q)
            a = (h >> 11) * _TO_UNIT - 1.0
            if r:
                b = (mix64(sec_seed ^ (q + 1)) >> 11) * _TO_UNIT - 1.0
                a += (b - a) * (r / 1000)
            units = int(scale * (1.0 + v + _SECOND_AMP * a) + 0.5) * tick
            if units <= 0:
                units = tick
            if not r and tick > 1 and h % _EXACT_EVERY == 0:
                units += (h >> 20) % tick  # stress exact decimals: all 8 digits used
            out.append(units)
        return out


def _component(times: list[int], period: int, amp: float, seed: int) -> list[float]:
    """One value-noise component: linear interpolation between hash-drawn knots."""
    out = []
    cur = None
    a = b = 0.0
    for t in times:
        q, r = divmod(t, period)
        if q != cur:
            if cur is not None and q == cur + 1:
                a = b
            else:
                a = amp * ((mix64(seed ^ q) >> 11) * _TO_UNIT - 1.0)
            b = amp * ((mix64(seed ^ (q + 1)) >> 11) * _TO_UNIT - 1.0)
            cur = q
        out.append(a + (b - a) * (r / period) if r else a)
    return out
