"""Step retries for exchange-facing assets, and the failures no retry can fix.

Retries are layered, innermost first, so a blip costs seconds and an outage a few minutes, never
an endless loop:

1. each exchange request: the exchange resource (tenacity) retries 429s after ``Retry-After`` and
   5xx / timeouts / dropped bodies with a short backoff (seconds);
2. the step: ``EXCHANGE_RETRY_POLICY`` reruns an exchange-facing step that still failed, after
   30 s then 90 s, for outages longer than the request retries ride out;
3. the run: the instance's ``run_retries`` (dagster.yaml) reruns a run whose worker died; it leaves
   failed steps to layer 2.

A ``NotRetryable`` error (bad configuration, a 418 ban) skips layer 2: rerunning cannot fix a
setting, and another request during a ban extends it.
"""

import dagster as dg

EXCHANGE_RETRY_POLICY = dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL)


class NotRetryable(dg.Failure):
    """A failure a retry cannot fix: the step fails at once even under a RetryPolicy.

    Dagster skips the retry policy for a ``dg.Failure`` with ``allow_retries=False``; subclasses
    keep their own type (``pytest.raises``, ``except``) and their message as the description.
    """

    def __init__(self, message: str):
        super().__init__(description=message, allow_retries=False)
