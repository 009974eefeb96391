"""The Dagster code location: ``dg dev``, ``dagster dev`` and ``dagster asset materialize -m binance_assets.definitions``.

Everything is loaded from the ``defs/`` folder: one folder per dataset (klines, orders, order_book,
symbols) plus the load triggers and the shared resources.
"""

import warnings
from pathlib import Path

import dagster as dg

# This project uses, on purpose, Dagster features still marked beta or preview (partitioned asset
# checks, pools, declarative automation, BackfillPolicy on checks). Their warnings would print
# ~20 lines before every CLI run's first log line; the choice is made here, once.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

defs = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
