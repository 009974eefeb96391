"""A few rows of a frame as a Dagster table, shown with the materialisation in the UI."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    import polars as pl


def preview(frame: pl.DataFrame | None, rows: int = 5) -> dg.MetadataValue:
    if frame is None or frame.is_empty():
        return dg.MetadataValue.md("_no rows_")
    head = frame.head(rows)
    return dg.MetadataValue.table(
        records=[dg.TableRecord({k: str(v) for k, v in row.items()}) for row in head.iter_rows(named=True)],
        schema=dg.TableSchema(columns=[dg.TableColumn(name, str(dtype)) for name, dtype in head.schema.items()]),
    )
