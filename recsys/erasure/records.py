"""Erasure records (`user_erasures`): that a request was honoured, and when, revealing nothing.

A record is `(erased_at, key_id, user_mac)`: the keyed hash of the id (`recsys.erasure.keys`),
never the id, no salt beside it and no counts. Every request writes one, for a user the system
never knew as for one it did, so the records cannot tell the two apart. Other serving processes
read them to forget the user; a publication reads them to erase again users a run still had.

What an auditor holding the key can verify: for an id, `mac(key, id)` is in `user_erasures`
with the time of each request. Without the key, a record is 64 hex digits that no list of
plausible ids can be matched against.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from clickhouse_connect.driver.client import Client

from recsys.erasure.keys import ErasureKeys, mac


@dataclass(frozen=True)
class ErasureRecord:
    key_id: str
    user_mac: str
    erased_at: datetime


def record(client: Client, keys: ErasureKeys, user_id: str) -> str:
    """Record an erasure of `user_id`; returns its receipt (the keyed hash)."""
    receipt = keys.mac(user_id)
    client.insert("user_erasures", [[keys.key_id, receipt]], column_names=["key_id", "user_mac"])
    return receipt


def erasures_since(client: Client, since: datetime) -> list[ErasureRecord]:
    """Erasures recorded after `since`, oldest first."""
    rows = client.query(
        "SELECT key_id, user_mac, erased_at FROM user_erasures "
        "WHERE erased_at > {since:DateTime64(3, 'UTC')} ORDER BY erased_at",
        parameters={"since": since},
    ).result_rows
    return [ErasureRecord(*row) for row in rows]


def matching(
    users: Iterable[str], erasures: Iterable[ErasureRecord], keys: ErasureKeys
) -> set[str]:
    """Which of `users` the erasures name (records under keys no longer known are skipped)."""
    known = keys.by_id()
    wanted: dict[str, set[str]] = {}
    for each in erasures:
        if each.key_id in known:
            wanted.setdefault(each.key_id, set()).add(each.user_mac)
    if not wanted:
        return set()
    return {
        user for user in users if any(mac(known[kid], user) in macs for kid, macs in wanted.items())
    }


def erased_users_in_lists(client: Client, keys: ErasureKeys) -> list[str]:
    """Users in a version's lists whom an erasure recorded after that version's data cut-off
    names: a run that read its events before the erasure wrote them back. Only the lists of
    such versions are read, and the ids matched here, with the key (never in a query)."""
    cut_offs = dict(
        client.query(
            """
            SELECT model_version, events_ingested_until FROM model_versions FINAL
            WHERE model_version IN (SELECT DISTINCT model_version FROM user_recommendations)
            """
        ).result_rows
    )
    if not cut_offs:
        return []
    erasures = erasures_since(client, min(cut_offs.values()))
    found: set[str] = set()
    for version, cut_off in cut_offs.items():
        later = [e for e in erasures if e.erased_at > cut_off]
        if not later:
            continue
        listed = client.query(
            "SELECT DISTINCT user_id FROM user_recommendations WHERE model_version = {v:String}",
            parameters={"v": version},
        ).result_columns
        found |= matching(listed[0] if listed else [], later, keys)
    return sorted(found)
