"""One way to reach ClickHouse, embedded (chDB) or a server, through clickhouse-connect.

    warehouse = Warehouse.from_url(settings.warehouse_url)
    with warehouse.session() as client:      # a clickhouse_connect Client
        client.query("SELECT count() FROM events")

Embedded mode opens the engine under an inter-process file lock, so the many processes of a
Dagster deployment and the API take turns; a process keeps it open briefly after a session and
gives it up as soon as another process waits (see `embedded.py`). Server mode keeps one
long-lived client and takes no lock. The SQL is the same in both.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from recsys import tracing
from recsys.warehouse import change_feed
from recsys.warehouse import cluster as cluster_schema
from recsys.warehouse.embedded import EmbeddedEngine, release_parked_engines
from recsys.warehouse.roles import CHAMPION

DATABASE = "recsys"


@dataclass(frozen=True)
class EmbeddedTarget:
    path: Path


@dataclass(frozen=True)
class ServerTarget:
    host: str
    port: int
    username: str
    password: str
    database: str
    secure: bool


@dataclass(frozen=True)
class InProcessServerTarget:
    """Server-mode behaviour (one shared client, no lock) over an in-process chDB engine.

    For exercising the server-mode code path where no ClickHouse server runs (the tests): the
    same clickhouse-connect client API, the same SQL. One process only; not for deployments.
    """

    path: Path
    database: str = DATABASE


def parse_url(url: str) -> EmbeddedTarget | ServerTarget | InProcessServerTarget:
    """Parse `chdb:///abs/dir`, `http(s)://user:password@host:port/database`, or
    `chdb+server:///abs/dir` (server-mode semantics on an in-process engine, for tests)."""
    parsed = urlparse(url)
    if parsed.scheme in ("chdb", "chdb+server"):
        path = Path(unquote(parsed.netloc + parsed.path))
        if not path.is_absolute():
            raise ValueError(f"embedded warehouse URL needs an absolute path, got {url!r}")
        return EmbeddedTarget(path=path) if parsed.scheme == "chdb" else InProcessServerTarget(path)
    if parsed.scheme in ("http", "https"):
        if not parsed.hostname:
            raise ValueError(f"ClickHouse URL has no host: {url!r}")
        secure = parsed.scheme == "https"
        return ServerTarget(
            host=parsed.hostname,
            port=parsed.port or (8443 if secure else 8123),
            username=unquote(parsed.username or "default"),
            password=unquote(parsed.password or ""),
            database=parsed.path.strip("/") or DATABASE,
            secure=secure,
        )
    raise ValueError(
        f"unsupported warehouse URL {url!r}: use chdb:///absolute/dir or http://user:pw@host:8123/db"
    )


def _write_atomically(path: Path, text: str) -> None:
    """Readers see the old or the new file, never half; concurrent writers never share a
    scratch file."""
    scratch = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    scratch.write_text(text)
    scratch.replace(path)


def _open_embedded(path: Path) -> Client:
    path.parent.mkdir(parents=True, exist_ok=True)
    client = clickhouse_connect.get_client(dsn=f"chdb://{path}")
    client.command(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
    client.database = DATABASE
    return client


_IN_PROCESS_CLIENTS: list[Client] = []


def close_in_process_clients() -> None:
    """Close every `chdb+server://` client of this process, so another data path can open."""
    while _IN_PROCESS_CLIENTS:
        _IN_PROCESS_CLIENTS.pop().close()


class Warehouse:
    """Hands out clickhouse-connect clients; see the module docstring for the two modes."""

    def __init__(
        self,
        target: EmbeddedTarget | ServerTarget | InProcessServerTarget,
        lock_timeout: float = 120.0,
        linger: float = 1.0,
        cluster: str = "",
    ) -> None:
        if cluster:
            cluster_schema.check_name(cluster)
        if cluster and not isinstance(target, ServerTarget):
            raise ValueError(f"a ClickHouse cluster ({cluster}) needs a server URL, not chDB")
        self.target = target
        self.cluster = cluster  # the schema's cluster form (recsys.warehouse.cluster) if set
        self.lock_timeout = lock_timeout
        self._client: Client | None = None
        self._client_guard = threading.Lock()
        self._engine: EmbeddedEngine | None = None
        if isinstance(target, EmbeddedTarget):
            self._engine = EmbeddedEngine.for_path(target.path, _open_embedded)
            self._engine.linger = linger

    @classmethod
    def from_url(
        cls, url: str, lock_timeout: float = 120.0, linger: float = 1.0, cluster: str = ""
    ) -> Warehouse:
        return cls(parse_url(url), lock_timeout=lock_timeout, linger=linger, cluster=cluster)

    @property
    def embedded(self) -> bool:
        return isinstance(self.target, EmbeddedTarget)

    @property
    def database(self) -> str:
        return self.target.database if isinstance(self.target, ServerTarget) else DATABASE

    @contextmanager
    def session(self, timeout: float | None = None) -> Iterator[Client]:
        """A client for one short unit of work. Nested sessions in one thread share the client."""
        if self._engine is None:
            with tracing.span("warehouse session", **{"warehouse.mode": "server"}):
                yield self._server_client()
            return
        wait = self.lock_timeout if timeout is None else timeout
        with (
            tracing.span("warehouse session", **{"warehouse.mode": "embedded"}),
            self._engine.session(wait) as client,
        ):
            yield client

    def notify_published(self, model_version: str, role: str = CHAMPION) -> None:
        """Tell readers on this machine that `model_version` now serves in `role`, without
        touching the engine.

        Embedded readers (the API) watch this small file instead of opening the warehouse to
        poll, which would contend for its lock. Server-mode readers poll `model_versions`.
        """
        self.notify_served({**self.published_markers(), role: model_version})

    def notify_served(self, served: dict[str, str]) -> None:
        """Announce the whole role -> version map (a promotion moves one role and empties
        another)."""
        if isinstance(self.target, EmbeddedTarget):
            _write_atomically(self.published_marker_path, json.dumps(served, sort_keys=True))
            self.notify_changed(change_feed.PUBLISHED)

    def notify_changed(self, kind: str) -> None:
        """Announce on the change feed that `kind` changed (`recsys.warehouse.change_feed`),
        after the write landed. Embedded only: on a server, readers read the tables' own
        signatures, which every writer moves."""
        if isinstance(self.target, EmbeddedTarget):
            change_feed.FeedFile(Path(f"{self.target.path}.changes")).announce(kind)

    def changes(self) -> change_feed.ChangeFeed:
        """A reader of the change feed: embedded, a file read per look; server, one query."""
        if isinstance(self.target, EmbeddedTarget):
            return change_feed.ChangeFeed.embedded(Path(f"{self.target.path}.changes"))
        return change_feed.ChangeFeed.server(self.session)

    def published_markers(self) -> dict[str, str]:
        """The version last announced in each role (empty in server mode or before any)."""
        if not isinstance(self.target, EmbeddedTarget):
            return {}
        try:
            text = self.published_marker_path.read_text().strip()
        except FileNotFoundError:
            return {}
        if not text.startswith("{"):  # written before roles: the champion's version
            return {CHAMPION: text} if text else {}
        return json.loads(text)

    def published_marker(self, role: str = CHAMPION) -> str | None:
        """The version last announced in `role` by `notify_published`, or None."""
        return self.published_markers().get(role)

    @property
    def published_marker_path(self) -> Path:
        assert isinstance(self.target, EmbeddedTarget)
        return Path(f"{self.target.path}.published")

    def close(self) -> None:
        """Close the server client, or let go of a parked embedded engine now."""
        if self._engine is not None:
            self._engine.release_if_idle(force=True)
            return
        with self._client_guard:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _server_client(self) -> Client:
        with self._client_guard:
            if self._client is None and isinstance(self.target, InProcessServerTarget):
                release_parked_engines()  # chDB opens one data path per process
                self._client = _open_embedded(self.target.path)
                _IN_PROCESS_CLIENTS.append(self._client)
            if self._client is None:
                target = self.target
                assert isinstance(target, ServerTarget)
                bootstrap = clickhouse_connect.get_client(
                    host=target.host,
                    port=target.port,
                    username=target.username,
                    password=target.password,
                    secure=target.secure,
                )
                on_cluster = f" ON CLUSTER {self.cluster}" if self.cluster else ""
                bootstrap.command(f"CREATE DATABASE IF NOT EXISTS {target.database}{on_cluster}")
                bootstrap.close()
                # No session id: one client is shared by the API's threads, and session-bound
                # HTTP requests to ClickHouse may not overlap.
                self._client = clickhouse_connect.get_client(
                    host=target.host,
                    port=target.port,
                    username=target.username,
                    password=target.password,
                    secure=target.secure,
                    database=target.database,
                    autogenerate_session_id=False,
                    # Many small inserts (single events from API workers) are batched by the
                    # server; the insert still answers only once the rows are written. On a
                    # cluster: quorum writes and sequential reads instead.
                    settings=(
                        cluster_schema.SESSION_SETTINGS
                        if self.cluster
                        else {"async_insert": 1, "wait_for_async_insert": 1}
                    ),
                )
            return self._client
