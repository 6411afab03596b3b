"""Which warehouse errors are faults of the warehouse (worth a retry, a 503, a fallback) rather
than bugs or bad input: one classifier for the API and the pipeline's retries.

ClickHouse reports a server-side condition as `DatabaseError` with `Code: N. ... (NAME)`; a
server that does not answer is `OperationalError`; the embedded engine locked by another process
is `WarehouseBusyError`. Anything else is not a fault of the warehouse and propagates as itself.
"""

from __future__ import annotations

import re

from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

from recsys.warehouse.lock import WarehouseBusyError

# ClickHouse error codes that describe the warehouse's state, not the query.
UNAVAILABLE_CODES: dict[int, str] = {
    159: "timeout exceeded",
    164: "read-only (the readonly setting)",
    202: "too many simultaneous queries",
    209: "socket timeout",
    210: "network error",
    241: "memory limit exceeded",
    242: "table is read-only",
    243: "not enough disk space",
    252: "too many parts (inserts outpace merges)",
    425: "system error",
}
_CODE = re.compile(r"Code: (\d+)\.")


class WarehouseUnavailableError(RuntimeError):
    """The warehouse cannot serve this request now; retrying later may succeed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def unavailable_reason(error: BaseException) -> str | None:
    """A short reason when `error` means the warehouse is unavailable, else None."""
    if isinstance(error, WarehouseUnavailableError):
        return error.reason
    if isinstance(error, WarehouseBusyError):
        return f"the embedded warehouse is busy: {error}"
    if isinstance(error, OperationalError):
        return "the ClickHouse server is not reachable"
    if isinstance(error, DatabaseError):
        match = _CODE.search(str(error))
        if match and int(match.group(1)) in UNAVAILABLE_CODES:
            return f"ClickHouse: {UNAVAILABLE_CODES[int(match.group(1))]}"
    return None


def is_unavailable(error: BaseException) -> bool:
    return unavailable_reason(error) is not None
