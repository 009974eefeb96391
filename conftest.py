"""Loaded by pytest before any test package: the settings every test run shares.

Partitions reach back to 2018 so tests can replay Binance's known outages; the definitions read
PARTITIONS_START when they load, so it is set before any test module imports them.
"""

import os

os.environ.setdefault("PARTITIONS_START", "2018-01-01-00:00")
