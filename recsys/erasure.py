"""Erasing a user: every row and file the project stores that names them.

Rows go by `ALTER TABLE ... DELETE` mutations, waited for, whose text (kept by ClickHouse with
the table) holds a salted hash of the id, never the id. The old parts a mutation leaves behind
must go too: a ClickHouse server removes them at once (`old_parts_lifetime` is 0 on these
tables, migration 10); embedded chDB runs no cleanup at all, so `drop_outdated_parts` deletes
their directories. Files the pipeline
keeps that hold the user are deleted, each store read exactly enough not to touch others (a
short id like "1" is part of many files): Dagster's stored values of the assets that hold users,
saved models whose user ids include them, validation results listing them. All are derived:
the next run writes them again without the user. An erasure is recorded
by its salted hash (`user_erasures`), so other serving processes forget the user too.

What this cannot reach is the operator's: a Kafka topic's retained messages, backups, and
stores on other machines (see the README).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from clickhouse_connect.driver.client import Client

from recsys.ids import encode_id, unpack_ids
from recsys.warehouse.cluster import rows_table
from recsys.warehouse.connection import Warehouse

# Tables with a user_id column: every row there names one user.
USER_TABLES = (
    "events", "interactions", "user_recommendations", "quarantined_events", "impressions"
)  # fmt: skip
WAIT = {"mutations_sync": 2}  # the statement returns once every part is rewritten


@dataclass(frozen=True)
class FileStores:
    """Where the files that can name a user live, as one process reaches them (None: it
    cannot, e.g. an MLflow server's artefact store)."""

    stored_values: Path | None  # Dagster's IO manager folder
    quality_dir: Path | None  # the Great Expectations project
    model_artefacts: Path | None  # local MLflow artefacts


def erase_user(warehouse: Warehouse, user_id: str, files: FileStores, salt: str) -> dict[str, int]:
    """Every store's part of an erasure but the serving caches: rows (then old parts), then
    files. Returns what was removed per store."""
    with warehouse.session() as client:
        removed = erase_rows(client, user_id, salt)
        if warehouse.embedded:
            removed["old_parts"] = drop_outdated_parts(client)
    if files.stored_values is not None:
        removed["pipeline_values"] = erase_stored_values(files.stored_values, user_id)
    if files.quality_dir is not None:
        removed["validation_results"] = erase_validation_results(files.quality_dir, user_id)
    if files.model_artefacts is not None:
        removed["model_artefacts"] = erase_model_artefacts(files.model_artefacts, user_id)
    return removed


def erased_users_in_lists(client: Client) -> list[str]:
    """Users in any version's lists whom an erasure recorded after that version's data
    cut-off names: a run that read its events before the erasure wrote them back. Found by
    the salted hashes, in the warehouse."""
    columns = client.query(
        """
            SELECT DISTINCT listed.user_id
            FROM (
                SELECT DISTINCT user_id, model_version FROM user_recommendations
            ) AS listed
            INNER JOIN (
                SELECT model_version, events_ingested_until FROM model_versions FINAL
            ) AS version ON version.model_version = listed.model_version
            CROSS JOIN user_erasures AS erased
            WHERE erased.erased_at > version.events_ingested_until
                AND lower(hex(SHA256(concat(erased.salt, listed.user_id)))) = erased.user_hash
            """
    ).result_columns
    return list(columns[0]) if columns else []


def user_hash(salt: str, user_id: str) -> str:
    return hashlib.sha256(encode_id(salt + user_id)).hexdigest()


def new_salt() -> str:
    return secrets.token_hex(16)


def erase_rows(client: Client, user_id: str, salt: str) -> dict[str, int]:
    """Delete the user's rows from every table that holds them; rows removed per table."""
    digest = user_hash(salt, user_id)
    removed: dict[str, int] = {}
    for table in USER_TABLES:
        found = client.query(
            f"SELECT count() FROM {table} WHERE user_id = {{u:String}}", parameters={"u": user_id}
        ).result_rows[0][0]
        removed[table] = int(found)
        if found:
            client.command(
                f"ALTER TABLE {rows_table(client, table)} DELETE WHERE "
                "lower(hex(SHA256(concat({salt:String}, user_id)))) = {digest:String}",
                parameters={"salt": salt, "digest": digest},
                settings=WAIT,
            )
    removed["events_rejected"] = _erase_dead_letters(client, user_id)
    return removed


def drop_outdated_parts(client: Client) -> int:
    """Delete the directories of these tables' inactive parts (embedded: nothing else will);
    returns how many. Only parts a mutation, merge or dropped partition replaced are inactive:
    no query started after them reads them."""
    tables = [*USER_TABLES, "events_rejected"]
    paths = client.query(
        "SELECT path FROM system.parts WHERE database = currentDatabase() "
        "AND table IN {tables:Array(String)} AND NOT active",
        parameters={"tables": tables},
    ).result_columns
    removed = 0
    for path in paths[0] if paths else []:
        part = Path(path)
        if part.is_dir():
            shutil.rmtree(part, ignore_errors=True)
            removed += 1
    return removed


def _erase_dead_letters(client: Client, user_id: str) -> int:
    """Dead letters are raw messages: those whose JSON names the user (alone or in a batch),
    or, for bytes that are not JSON, that contain the id (nothing tells whose such bytes are, so
    a short id may take other unreadable letters with it). Deleted by their log position."""
    keys = client.query(
        """
        SELECT topic, partition, offset FROM events_rejected
        WHERE if(isValidJSON(raw),
            JSONExtractString(raw, 'user_id') = {u:String}
                OR has(arrayMap(e -> JSONExtractString(e, 'user_id'),
                                JSONExtractArrayRaw(raw, 'events')), {u:String}),
            position(raw, {u:String}) > 0)
        """,
        parameters={"u": user_id},
    ).result_rows
    if keys:
        client.command(
            f"ALTER TABLE {rows_table(client, 'events_rejected')} DELETE WHERE "
            "(topic, partition, offset) IN {keys:Array(Tuple(String, UInt32, UInt64))}",
            parameters={"keys": [tuple(k) for k in keys]},
            settings=WAIT,
        )
    return len(keys)


# The pipeline's stored values (Dagster IO manager files, one per asset) that hold user ids:
# the interaction matrix and the trained model (its training matrix). The erasure test's byte
# search fails if another asset starts storing user ids without being listed here.
VALUES_WITH_USERS = ("interaction_matrix", "candidate_model")


def erase_stored_values(storage: Path, user_id: str) -> int:
    """Delete the pipeline's stored values that hold the user (derived: the next run writes
    them again without them); returns how many."""
    needle = encode_id(user_id)
    removed = 0
    for name in VALUES_WITH_USERS:
        path = storage / name
        if path.is_file() and _contains(path, needle):
            path.unlink()
            removed += 1
    return removed


def erase_model_artefacts(artifacts: Path, user_id: str) -> int:
    """Delete saved models (`Recommender.save`'s `.npz`) whose packed user ids include the
    user: each holds every user it was trained on. Read exactly, so a short id such as "1"
    removes only the models that really have that user."""
    removed = 0
    for path in artifacts.rglob("*.npz") if artifacts.is_dir() else ():
        with np.load(path, allow_pickle=False) as saved:
            if "user_ids_utf8" not in saved.files:
                continue
            users = unpack_ids(saved["user_ids_utf8"], saved["user_ids_offsets"])
        if user_id in set(users.tolist()):
            path.unlink()
            removed += 1
    return removed


def erase_validation_results(quality_dir: Path, user_id: str) -> int:
    """Delete Great Expectations validation results that list the id among unexpected values
    (as a JSON string), with their Data Docs page. The project's configuration and the site's
    other pages are left alone."""
    needle = json.dumps(user_id).encode()  # quoted: a whole value, not part of one
    removed = 0
    gx = quality_dir / "gx" / "uncommitted"
    for result in (gx / "validations").rglob("*.json") if gx.is_dir() else ():
        if _contains(result, needle):
            page = gx / "data_docs" / "local_site" / result.relative_to(gx).with_suffix(".html")
            result.unlink()
            page.unlink(missing_ok=True)
            removed += 1
    return removed


def _contains(path: Path, needle: bytes, chunk: int = 1 << 20) -> bool:
    overlap = len(needle) - 1
    tail = b""
    with path.open("rb") as stream:
        while block := stream.read(chunk):
            if needle in tail + block:
                return True
            tail = block[-overlap:] if overlap else b""
    return False


def record(client: Client, salt: str, user_id: str, removed: dict[str, int]) -> None:
    client.insert(
        "user_erasures",
        [[salt, user_hash(salt, user_id), json.dumps(removed, sort_keys=True)]],
        column_names=["salt", "user_hash", "removed"],
    )


def erasures_since(client: Client, since: datetime) -> list[tuple[str, str, datetime]]:
    """(salt, user hash, erased at) of erasures recorded after `since`."""
    return client.query(
        "SELECT salt, user_hash, erased_at FROM user_erasures "
        "WHERE erased_at > {since:DateTime64(3, 'UTC')} ORDER BY erased_at",
        parameters={"since": since},
    ).result_rows


def matching(users: Iterable[str], erasures: Iterable[tuple[str, str, datetime]]) -> set[str]:
    """Which of `users` the erasures name."""
    wanted = [(salt, digest) for salt, digest, _ in erasures]
    return {u for u in users if any(user_hash(salt, u) == digest for salt, digest in wanted)}
