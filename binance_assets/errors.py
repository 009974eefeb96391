"""Failures shared by every layer, sorted by what a retry can do about them.

Dagster reruns a failed step under its ``RetryPolicy``:
- a ``Transient`` failure (a warehouse held by another process, a throttled S3) is worth rerunning:
  the policy waits and tries again, and the load triggers load the hour again later if the step's
  retries run out;
- a ``NotRetryable`` failure (bad configuration, bad input, a full disk, a 418 ban) fails at once:
  rerunning cannot fix a setting or free a disk, and another request during a ban extends it.
"""

import dagster as dg


class Transient(RuntimeError):
    """Something outside us is busy or unavailable for now: a retry after a wait can succeed.

    The message says what holds it and how to free it, so a user who cannot wait knows what to do."""


class NotRetryable(dg.Failure):
    """A failure a retry cannot fix: the step fails at once even under a RetryPolicy.

    Dagster skips the retry policy for a ``dg.Failure`` with ``allow_retries=False``; subclasses
    keep their own type (``pytest.raises``, ``except``) and their message as the description.
    """

    def __init__(self, message: str):
        super().__init__(description=message, allow_retries=False)


class ConfigurationError(NotRetryable, ValueError):
    """Bad configuration: the message names the variable and how to fix it. Never retried."""


class InvalidInputError(NotRetryable, ValueError):
    """Bad input to a run (a partition key or range): the message names the value and the format."""


class OutOfSpaceError(NotRetryable):
    """A disk is full: the message names the setting that chose it and the space needed. A step
    retry seconds later cannot free space; the load triggers load the hour again once it is freed."""
