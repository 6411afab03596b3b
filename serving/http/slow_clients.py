"""uvicorn's HTTP/1.1 protocol (the one it would choose: httptools when installed, else h11)
with a deadline for a request's headers.

uvicorn closes a connection left idle after a response (`--timeout-keep-alive`), but not one
that sends nothing, or sends a request line and then trickles its headers: 200 such clients
held 1,556 open files. Here a connection must deliver a request's complete headers within
`RECSYS_API_HEADER_TIMEOUT_SECONDS` of connecting, or of sending the first byte of its next
request, or it is closed. Every command that serves the API names this class
(`uvicorn serving.app:app --http serving.http.slow_clients:TimedHTTPProtocol`).
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from recsys.settings import get_settings


class HeaderDeadline:
    """Mixed into one of uvicorn's HTTP/1.1 protocols (both start a request cycle, `cycle`,
    once a request's headers are complete)."""

    header_timeout: float | None = None  # None: the setting

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.header_timeout is None:
            self.header_timeout = get_settings().api_header_timeout_seconds
        self._headers_due: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._expect_headers()

    def data_received(self, data: bytes) -> None:
        between_requests = self.cycle is None or self.cycle.response_complete
        if between_requests and self._headers_due is None:
            self._expect_headers()  # the first byte of a next request on a kept-alive connection
        started = self.cycle
        super().data_received(data)
        if self.cycle is not started:  # its headers are complete: a request cycle began
            self._headers_arrived()

    def connection_lost(self, exc: Exception | None) -> None:
        self._headers_arrived()
        super().connection_lost(exc)

    def _expect_headers(self) -> None:
        self._headers_due = self.loop.call_later(float(self.header_timeout), self._too_slow)

    def _headers_arrived(self) -> None:
        if self._headers_due is not None:
            self._headers_due.cancel()
            self._headers_due = None

    def _too_slow(self) -> None:
        self._headers_due = None
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()


class TimedHTTPProtocol(HeaderDeadline, AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    """What `--http` names: uvicorn's own choice of protocol, with the header deadline."""
