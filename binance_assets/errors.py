"""Failures no retry can fix, shared by every layer.

Dagster reruns a failed step under its ``RetryPolicy``; a ``NotRetryable`` failure (bad
configuration, a 418 ban) fails at once: rerunning cannot fix a setting, and another request
during a ban extends it.
"""

import dagster as dg


class NotRetryable(dg.Failure):
    """A failure a retry cannot fix: the step fails at once even under a RetryPolicy.

    Dagster skips the retry policy for a ``dg.Failure`` with ``allow_retries=False``; subclasses
    keep their own type (``pytest.raises``, ``except``) and their message as the description.
    """

    def __init__(self, message: str):
        super().__init__(description=message, allow_retries=False)


class ConfigurationError(NotRetryable, ValueError):
    """Bad configuration: the message names the variable and how to fix it. Never retried."""
