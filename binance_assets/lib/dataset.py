"""One spec per hourly dataset: what every generic step needs to know about it.

A dataset ``X`` flows ``raw_X`` (exchange rows as sent) → ``X_parquet`` (clean, typed) →
``clickhouse_X`` (table ``{db}.X``), with checks on each. The spec names those assets once, and
tags them so the load triggers find every dataset's load asset without knowing the datasets.
"""

from dataclasses import dataclass

import dagster as dg

from binance_assets.resources.clickhouse import Table

DATASET_TAG = "binance_assets/dataset"
# On the load asset of every dataset loaded hour by hour from clean Parquet.
HOURLY_LOAD_TAG = "binance_assets/hourly_load"
HOURLY_LOADS = dg.AssetSelection.tag(HOURLY_LOAD_TAG, "true")
# On each dataset's report of hours in the lake but not in the warehouse (``lib/coverage.py``).
COVERAGE_TAG = "binance_assets/warehouse_coverage"
WAREHOUSE_COVERAGE = dg.AssetSelection.tag(COVERAGE_TAG, "true")


@dataclass(frozen=True)
class HourlyDataset:
    name: str  # lake folders raw/{name}/ and clean/{name}/, and the table's name
    group: str
    table: Table
    symbol_column: str  # the table's columns that place a row in a symbol-hour
    time_column: str

    @property
    def raw_asset_key(self) -> dg.AssetKey:
        return dg.AssetKey(f"raw_{self.name}")

    @property
    def parquet_asset_name(self) -> str:
        return f"{self.name}_parquet"

    @property
    def load_asset_name(self) -> str:
        return f"clickhouse_{self.name}"

    @property
    def tags(self) -> dict[str, str]:
        return {DATASET_TAG: self.name}


def dataset_of(asset_tags: dict[str, str]) -> str | None:
    return asset_tags.get(DATASET_TAG)
