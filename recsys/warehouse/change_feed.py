"""One change feed: how a process learns that a published version, the catalogue, an erasure or
an experiment definition changed, whichever process wrote it.

Writers announce a change after their write landed (`Warehouse.notify_changed(kind)`). Embedded,
that replaces the kind's token in one small JSON file beside the warehouse (`<warehouse>.changes`)
under an exclusive file lock, by writing a scratch file and renaming it over the old one; a look
is one read of that file and opens no engine (which would contend for its lock). On a server,
a look is one query that reads a signature of each kind from the tables themselves, so any
writer moves it, ours or not.

What a reader can rely on (tests/recsys/warehouse/test_change_feed.py):
- A look reports every kind announced since the previous look, however many looks were
  missed; changes coalesce per kind, so a subscriber re-reads its source since it last did.
- A kind is reported only once its write landed (writers announce after writing).
- A writer that dies while announcing leaves the old file or the new one, never half of one (a
  dead process's lock is released with it); a file that cannot be read reports every kind.
- `again(kind)` puts a kind back, for a subscriber whose reaction failed: the next look
  reports it again.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

from clickhouse_connect.driver.client import Client

log = logging.getLogger(__name__)

PUBLISHED = "published"  # a version now serves in a role (a publication, a promotion)
CATALOGUE = "catalogue"  # an item was written or deleted
ERASURES = "erasures"  # a user was erased
EXPERIMENTS = "experiments"  # an experiment was defined, changed or removed
KINDS = (PUBLISHED, CATALOGUE, ERASURES, EXPERIMENTS)

# Server: each kind's signature, read in one query. Small tables are hashed whole (exact); the
# catalogue and the erasure records only grow or are rewritten with a newer time.
SIGNATURES_SQL = """
SELECT
    (SELECT groupBitXor(cityHash64(model_version, role, status, published_at))
       FROM model_versions FINAL WHERE status = 'published'),
    (SELECT tuple(max(updated_at), count()) FROM items),
    (SELECT tuple(max(erased_at), count()) FROM user_erasures),
    (SELECT groupBitXor(cityHash64(name, definition, deleted)) FROM experiments FINAL)
"""


class FeedFile:
    """The embedded feed: kind -> the token of its last announcement."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_path = path.with_name(f"{path.name}.lock")

    def announce(self, kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown change kind {kind!r}; known: {', '.join(KINDS)}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # writers in turn: none loses another's token
            tokens = self.read() or {}
            tokens[kind] = uuid.uuid4().hex
            scratch = self.path.with_name(
                f"{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
            )
            scratch.write_text(json.dumps(tokens, sort_keys=True))
            scratch.replace(self.path)

    def read(self) -> dict[str, str] | None:
        """The tokens ({} before any announcement); None when the file cannot be read."""
        try:
            tokens = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return None
        return tokens if isinstance(tokens, dict) else None


class ChangeFeed:
    """One reader's view of the feed: which kinds changed since its previous look."""

    def __init__(self, read: Callable[[], dict[str, object] | None]) -> None:
        self._read = read
        self._seen: dict[str, object] | None = None

    @classmethod
    def embedded(cls, path: Path) -> ChangeFeed:
        return cls(FeedFile(path).read)

    @classmethod
    def server(cls, session: Callable) -> ChangeFeed:
        """`session()`: a context manager giving a warehouse client (one query per look)."""

        def read() -> dict[str, object]:
            with session() as client:
                return server_signatures(client)

        return cls(read)

    def mark(self) -> None:
        """Everything up to now is known (a reader that just loaded it all)."""
        self._seen = self._read()

    def changed(self) -> set[str]:
        """The kinds that changed since the previous look (every kind before the first)."""
        now = self._read()
        seen, self._seen = self._seen, now
        if now is None:
            log.error("the change feed cannot be read; treating every kind as changed")
            return set(KINDS)
        if seen is None:
            return set(KINDS)
        return {kind for kind in KINDS if now.get(kind) != seen.get(kind)}

    def again(self, kind: str) -> None:
        """Report `kind` at the next look, whatever the feed says then."""
        if self._seen is not None:
            self._seen = {**self._seen, kind: object()}  # equal to nothing the feed can hold


def server_signatures(client: Client) -> dict[str, object]:
    row = client.query(SIGNATURES_SQL).result_rows[0]
    return {kind: repr(value) for kind, value in zip(KINDS, row, strict=True)}
