"""What the HTTP layer refuses or hides before any route sees a request.

- Ids in paths and query strings are text: their percent-decoded bytes must be valid UTF-8.
  The server decodes undecodable bytes to U+FFFD, so `%FF%FE` and `%C0%80` (an overlong NUL)
  would both reach the user "\ufffd\ufffd"; refusing them leaves each id one spelling.
- A credential sent in a query string (`?token=...`) is refused by the admin routes but the
  server's access log would keep it: its value is masked in the log line.
"""

from __future__ import annotations

import logging
from urllib.parse import unquote_to_bytes

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

CREDENTIAL_NAMES = frozenset(
    {"token", "access_token", "api_key", "apikey", "key", "password", "secret", "auth"}
    | {"authorization", "admin_token", "bearer", "session", "signature", "sig"}
)
MASK = "***"


def undecodable(raw: bytes) -> bool:
    """Whether percent-decoded `raw` is not UTF-8 text (ASCII without escapes is)."""
    if b"%" not in raw and raw.isascii():
        return False
    try:
        unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


class Utf8Only:
    """A 422 in FastAPI's format for a path or query string that is not UTF-8 once decoded."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
            query = scope.get("query_string", b"").replace(b"+", b" ")
            where = "path" if undecodable(path) else "query" if undecodable(query) else None
            if where is not None:
                message = (
                    f"the {where} is not UTF-8 once percent-decoded: ids and text must be "
                    "UTF-8, each byte of a multi-byte character escaped (%C3%9F for ß)"
                )
                entry = {"type": "value_error", "loc": [where], "msg": message}
                await JSONResponse(status_code=422, content={"detail": [entry]})(
                    scope, receive, send
                )
                return
        await self.app(scope, receive, send)


def mask_credentials(target: str) -> str:
    """`target` (path and query) with the values of credential-like parameters masked."""
    path, mark, query = target.partition("?")
    if not mark:
        return target
    pairs = []
    for pair in query.split("&"):
        name, equals, _value = pair.partition("=")
        decoded = unquote_to_bytes(name.replace("+", " ")).decode("utf-8", "replace").lower()
        pairs.append(f"{name}={MASK}" if equals and decoded in CREDENTIAL_NAMES else pair)
    return f"{path}?{'&'.join(pairs)}"


class MaskCredentials(logging.Filter):
    """Masks query-string credentials in uvicorn's access log lines
    (`client - "METHOD target HTTP/v" status`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], mask_credentials(args[2]), *args[3:])
        return True


def mask_access_log() -> None:
    """Install the mask on the access log (once per process)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, MaskCredentials) for f in access.filters):
        access.addFilter(MaskCredentials())
