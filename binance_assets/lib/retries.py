"""Step retries for exchange-facing assets.

Retries are layered, innermost first, so a blip costs seconds and an outage a few minutes, never
an endless loop:

1. each exchange request: the exchange resource (tenacity) retries 429s after ``Retry-After`` and
   5xx / timeouts / dropped bodies with a short backoff (seconds);
2. the step: ``EXCHANGE_RETRY_POLICY`` reruns an exchange-facing step that still failed, after
   30 s then 90 s, for outages longer than the request retries ride out;
3. the run: the instance's ``run_retries`` (dagster.yaml) reruns a run whose worker died; it leaves
   failed steps to layer 2.

A ``NotRetryable`` error (``binance_assets.errors``: bad configuration, a 418 ban) skips layer 2.
"""

import dagster as dg

EXCHANGE_RETRY_POLICY = dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL)
