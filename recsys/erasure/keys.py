"""The secret that makes erasure records unreadable: a keyed hash (HMAC-SHA256) of the user id.

A salted hash kept beside its salt can be reversed by trying plausible ids (`u0`..`u99999` took
under a second); a keyed hash cannot without the key, and the key never enters the warehouse.
It comes from `RECSYS_ERASURE_KEY`, or from `<home>/erasure-key` (created once, readable by its
owner only) so that every process of one home agrees on it. Rotation: set a new key and move the
old one into `RECSYS_ERASURE_RETIRED_KEYS`; each record names its key by `key_id` (an HMAC of a
fixed label, which says nothing about the key), so records made under a retired key are still
recognised while it is listed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from recsys.events.ids import encode_id
from recsys.settings import Settings

KEY_FILE = "erasure-key"
_KEY_ID_LABEL = b"recsys erasure key id"


@dataclass(frozen=True)
class ErasureKeys:
    """The current key and the retired ones still recognised."""

    current: bytes
    retired: tuple[bytes, ...] = ()

    @property
    def key_id(self) -> str:
        return key_id(self.current)

    def mac(self, user_id: str) -> str:
        """The record of `user_id` under the current key."""
        return mac(self.current, user_id)

    def by_id(self) -> dict[str, bytes]:
        """Every recognised key by its id."""
        return {key_id(k): k for k in (self.current, *self.retired)}


def key_id(key: bytes) -> str:
    return hmac.new(key, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


def mac(key: bytes, user_id: str) -> str:
    return hmac.new(key, encode_id(user_id), hashlib.sha256).hexdigest()


def erasure_keys(settings: Settings) -> ErasureKeys:
    """The keys `settings` configure (creating the home's key file when none is set)."""
    if settings.erasure_key is not None and settings.erasure_key.get_secret_value():
        current = settings.erasure_key.get_secret_value().encode()
    else:
        current = _home_key(settings.home)
    retired = (
        settings.erasure_retired_keys.get_secret_value() if settings.erasure_retired_keys else ""
    )
    return ErasureKeys(current, tuple(k.strip().encode() for k in retired.split(",") if k.strip()))


def _home_key(home: Path) -> bytes:
    path = home / KEY_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{KEY_FILE}-{secrets.token_hex(4)}")
        draft.touch(mode=0o600)
        draft.write_text(secrets.token_hex(32), encoding="ascii")
        try:
            os.link(draft, path)  # atomic: two processes starting at once end with one key
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    key = path.read_text(encoding="ascii").strip()
    if not key:
        raise ValueError(
            f"the erasure key file {path} is empty: delete it or set RECSYS_ERASURE_KEY"
        )
    return key.encode()
