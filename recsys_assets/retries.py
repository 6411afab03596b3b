"""Retries with backoff for failures that pass: the warehouse busy, unreachable, read-only or
full (see `recsys.warehouse.faults`).

Only those errors retry; a bad input or a bug fails the step at once with its own message. A run
that fails after all retries publishes nothing, so the API keeps serving the previous version.
"""

import functools

import dagster as dg

from recsys.warehouse.faults import unavailable_reason

MAX_RETRIES = 4
FIRST_WAIT_SECONDS = 5.0


def backoff_seconds(retry_number: int) -> float:
    """5, 10, 20, 40 s: long enough for a restarting server, short enough for a nightly run."""
    return FIRST_WAIT_SECONDS * 2**retry_number


def retry_when_unavailable(compute):
    """Wrap an asset or check body: transient warehouse errors become a retry with backoff."""

    @functools.wraps(compute)
    def wrapper(context, *args, **kwargs):
        try:
            return compute(context, *args, **kwargs)
        except Exception as error:
            reason = unavailable_reason(error)
            if reason is None:  # a bug or bad data: fail now, with its own message
                raise
            attempt = context.retry_number
            wait = backoff_seconds(attempt)
            if attempt < MAX_RETRIES:
                context.log.warning(
                    f"warehouse unavailable ({reason}: {error}); retry {attempt + 1} of "
                    f"{MAX_RETRIES} in {wait:.0f} s"
                )
            raise dg.RetryRequested(max_retries=MAX_RETRIES, seconds_to_wait=wait) from error

    return wrapper
