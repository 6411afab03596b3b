"""Every asset and check body: a trace span (`recsys.tracing`, when on), and retries with
backoff for failures that pass: the warehouse busy, unreachable, read-only or
full (see `recsys.warehouse.faults`).

Only those errors retry; a bad input or a bug fails the step at once with its own message. A run
that fails after all retries publishes nothing, so the API keeps serving the previous version.
"""

import contextlib
import functools
import inspect

import dagster as dg

from recsys import tracing
from recsys.warehouse.faults import unavailable_reason

MAX_RETRIES = 4
FIRST_WAIT_SECONDS = 5.0


def backoff_seconds(retry_number: int) -> float:
    """5, 10, 20, 40 s: long enough for a restarting server, short enough for a nightly run."""
    return FIRST_WAIT_SECONDS * 2**retry_number


def retry_when_unavailable(compute):
    """Wrap an asset or check body: transient warehouse errors become a retry with backoff."""
    if inspect.isgeneratorfunction(compute):  # an asset that may not produce its output

        @functools.wraps(compute)
        def generator_wrapper(context, *args, **kwargs):
            try:
                with _step_span(compute, context):
                    yield from compute(context, *args, **kwargs)
            except Exception as error:
                retry = _retry_for(context, error)
                if retry is None:  # a bug or bad data: fail now, with its own message
                    raise
                raise retry from error

        return generator_wrapper

    @functools.wraps(compute)
    def wrapper(context, *args, **kwargs):
        try:
            with _step_span(compute, context):
                return compute(context, *args, **kwargs)
        except Exception as error:
            retry = _retry_for(context, error)
            if retry is None:
                raise
            raise retry from error

    return wrapper


def _step_span(compute, context):
    """A span for one run of an asset or check body (nothing to read unless tracing is on)."""
    if tracing.provider() is None:
        return contextlib.nullcontext()
    try:  # asset and check contexts both carry the run; a directly invoked body has none
        run_id = context.run.run_id
    except Exception:
        run_id = ""
    return tracing.span(f"step {compute.__name__}", **{"dagster.run_id": run_id})


def _retry_for(context, error: Exception) -> dg.RetryRequested | None:
    """A retry with backoff if `error` says the warehouse was unavailable, else None."""
    reason = unavailable_reason(error)
    if reason is None:
        return None
    attempt = context.retry_number
    wait = backoff_seconds(attempt)
    if attempt < MAX_RETRIES:
        context.log.warning(
            f"warehouse unavailable ({reason}: {error}); retry {attempt + 1} of "
            f"{MAX_RETRIES} in {wait:.0f} s"
        )
    return dg.RetryRequested(max_retries=MAX_RETRIES, seconds_to_wait=wait)
