"""``binance-assets stream``: closed 1-minute candles from Binance's websocket into the lake and ClickHouse
within about a second of their close (see ``defs/klines/live`` for the data and its Dagster side)."""

import warnings

import dagster as dg

# The stream imports dataset modules directly, not through definitions.py: the same choice about the
# warnings of the Dagster features this project uses on purpose.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)
