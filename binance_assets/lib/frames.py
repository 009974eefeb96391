"""Turning the exchange's JSON into typed frames: exact decimals, UTC millisecond timestamps."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # polars is imported by the steps that build frames, not by every step process
    import polars as pl

_EXACT_DECIMAL = r"^-?\d{1,30}(\.\d{1,8})?$"


def exact_decimals(frame: pl.DataFrame, columns: list[str], what: str) -> pl.DataFrame:
    """Cast decimal strings to Decimal(38, 8), refusing any value that would not round-trip exactly."""
    import polars as pl

    bad = frame.select(
        [pl.col(c).filter(~pl.col(c).str.contains(_EXACT_DECIMAL)).first().alias(c) for c in columns]
    ).row(0)
    for column, value in zip(columns, bad, strict=True):
        if value is not None:
            raise ValueError(
                f"{what}: {column} value {value!r} does not fit Decimal(38, 8) exactly; "
                "the exchange sends at most 8 decimals, so this raw file is corrupt — re-fetch the partition."
            )
    return frame.with_columns([pl.col(c).cast(pl.Decimal(38, 8)) for c in columns])


def ms_timestamps(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    import polars as pl

    return frame.with_columns([pl.col(c).cast(pl.Int64).cast(pl.Datetime("ms", "UTC")) for c in columns])
