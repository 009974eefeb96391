"""Turning the exchange's JSON into typed frames: exact decimals, UTC millisecond timestamps."""

import polars as pl

EXCHANGE_DECIMAL = pl.Decimal(38, 8)
UTC_MS = pl.Datetime("ms", "UTC")
_EXACT_DECIMAL = r"^-?\d{1,30}(\.\d{1,8})?$"


def exact_decimals(frame: pl.DataFrame, columns: list[str], what: str) -> pl.DataFrame:
    """Cast decimal strings to Decimal(38, 8), refusing any value that would not round-trip exactly."""
    bad = frame.select(
        [pl.col(c).filter(~pl.col(c).str.contains(_EXACT_DECIMAL)).first().alias(c) for c in columns]
    ).row(0)
    for column, value in zip(columns, bad, strict=True):
        if value is not None:
            raise ValueError(
                f"{what}: {column} value {value!r} does not fit Decimal(38, 8) exactly; "
                "the exchange sends at most 8 decimals, so this raw file is corrupt — re-fetch the partition."
            )
    return frame.with_columns([pl.col(c).cast(EXCHANGE_DECIMAL) for c in columns])


def ms_timestamps(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    return frame.with_columns([pl.col(c).cast(pl.Int64).cast(UTC_MS) for c in columns])
