"""Step retries: exchange-facing steps, and steps that read or write the lake and the warehouse.

Retries are layered, innermost first, so a blip costs seconds and an outage a few minutes, never
an endless loop:

1. each exchange request: the exchange resource (tenacity) retries 429s after ``Retry-After`` and
   5xx / timeouts / dropped bodies with a short backoff (seconds);
2. the step: ``EXCHANGE_RETRY_POLICY`` reruns an exchange-facing step that still failed, after
   30 s then 90 s, for outages longer than the request retries ride out; ``STORAGE_RETRY_POLICY``
   reruns a lake or warehouse step after 15, 45 and 105 s: long enough for another process to let
   go of the embedded ClickHouse or for S3 to stop throttling;
3. the run: the instance's ``run_retries`` (dagster.yaml) reruns a run whose worker died; it leaves
   failed steps to layer 2;
4. the hour: a load whose step retries ran out is requested again by the load automation
   (``lib/load.py``) every few minutes until it succeeds, so no hour stays out of the warehouse.

A ``NotRetryable`` error (``binance_assets.errors``: bad configuration or input, a full disk, a 418
ban) skips layer 2.
"""

import dagster as dg

EXCHANGE_RETRY_POLICY = dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL)
STORAGE_RETRY_POLICY = dg.RetryPolicy(max_retries=3, delay=15, backoff=dg.Backoff.EXPONENTIAL)
