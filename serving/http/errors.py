"""How the API answers what went wrong: 422s that can always be rendered, 503s for faults.

- A 422 echoes what the client sent (FastAPI's format). Input can hold what JSON cannot carry
  back (NaN, Infinity, lone surrogates) or be huge, so echoed values are made JSON-safe and
  shortened first: bad input can never turn into a 500.
- Warehouse faults (busy, unreachable, read-only, out of disk: `recsys.warehouse.faults`) are
  503 with `Retry-After` from any endpoint; any other error is a bug, a logged 500.
"""

from __future__ import annotations

import logging
import math

from clickhouse_connect.driver.exceptions import ClickHouseError
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from recsys.warehouse.faults import WarehouseUnavailableError, unavailable_reason
from recsys.warehouse.lock import WarehouseBusyError

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 1
ECHO_LIMIT = 200  # characters of an offending value echoed back


def json_safe(value: object, depth: int = 0) -> object:
    """`value` as something JSON can carry: non-finite numbers and un-encodable text become
    escaped strings, long text and deep structures are cut."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, str):
        text = value if len(value) <= ECHO_LIMIT else value[:ECHO_LIMIT] + "..."
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return ascii(text)[1:-1]  # \ud800 spelled out, not a crash
        return text
    if isinstance(value, bytes):
        return json_safe(value.decode("utf-8", "backslashreplace"), depth)
    if depth > 4:
        return "..."
    if isinstance(value, dict):
        items = list(value.items())[:20]
        return {str(json_safe(k, depth + 1)): json_safe(v, depth + 1) for k, v in items}
    if isinstance(value, list | tuple):
        return [json_safe(v, depth + 1) for v in value[:20]]
    if value is None or isinstance(value, bool | int | float):
        return value
    return json_safe(str(value), depth)


async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    details = []
    for entry in error.errors():
        entry = dict(entry)
        entry.pop("url", None)
        if "input" in entry:
            entry["input"] = json_safe(entry["input"])
        if "ctx" in entry:
            entry["ctx"] = json_safe(entry["ctx"])
        entry["msg"] = json_safe(entry.get("msg", ""))
        entry["loc"] = [json_safe(part) for part in entry.get("loc", ())]
        details.append(entry)
    return JSONResponse(status_code=422, content=jsonable_encoder({"detail": details}))


def unavailable_response(reason: str) -> JSONResponse:
    return JSONResponse(
        status_code=503,
        content={"detail": f"the warehouse is unavailable ({reason}); retry later"},
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def warehouse_error(request: Request, error: Exception) -> JSONResponse:
    reason = unavailable_reason(error)
    if reason is None:  # a query bug, not a fault of the warehouse: a real 500, logged
        log.error("warehouse error on %s", request.url.path, exc_info=error)
        return JSONResponse(status_code=500, content={"detail": "internal error"})
    log.warning("warehouse unavailable on %s: %s", request.url.path, error)
    return unavailable_response(reason)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
    for error_type in (ClickHouseError, WarehouseBusyError, WarehouseUnavailableError):
        app.add_exception_handler(error_type, warehouse_error)


def invalid(location: tuple, message: str, value: object) -> dict:
    """One entry of a 422, in FastAPI's format."""
    return {"type": "value_error", "loc": location, "msg": message, "input": value}


def unprocessable(location: tuple, message: str, value: object) -> RequestValidationError:
    """A 422 of one entry in FastAPI's format, as the OpenAPI document says every 422 is."""
    return RequestValidationError([invalid(location, message, value)])
