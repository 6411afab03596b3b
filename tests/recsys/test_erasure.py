"""Erasure's stores read exactly: a short id removes only what names that user, the ids never
appear in what ClickHouse keeps of the statements, and the records reveal nothing."""

from pathlib import Path

import numpy as np

from recsys.erasure import files, records, rows
from recsys.erasure.keys import ErasureKeys, erasure_keys, mac
from recsys.events.ids import pack_ids
from recsys.settings import Settings
from recsys.warehouse import dead_letters, source_tables
from recsys.warehouse.dead_letters import DeadLetter
from tests.recsys.warehouse.rows import events_frame


def _model(path: Path, users: list[str]) -> Path:
    data, offsets = pack_ids(np.array(users, dtype=object))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, user_ids_utf8=data, user_ids_offsets=offsets)
    return path


def test_a_short_id_removes_only_the_files_that_really_hold_that_user(tmp_path: Path):
    holds = _model(tmp_path / "mlartifacts" / "a" / "model.npz", ["1", "2"])
    similar = _model(tmp_path / "mlartifacts" / "b" / "model.npz", ["11", "21"])
    assert files.erase_model_artefacts(tmp_path / "mlartifacts", "1") == 1
    assert not holds.exists() and similar.exists()

    storage = tmp_path / "storage"
    storage.mkdir()
    (storage / "candidate_model").write_bytes(b"...1...")
    (storage / "model_selection").write_bytes(b"...1...")  # not a value that holds users
    assert files.erase_stored_values(storage, "1") == 1
    assert (storage / "model_selection").exists()

    gx = tmp_path / "quality" / "gx"
    results = gx / "uncommitted" / "validations" / "events" / "run"
    results.mkdir(parents=True)
    listing = results / "a.json"
    listing.write_text('{"partial_unexpected_list": ["1"], "observed": 1}')
    other = results / "b.json"
    other.write_text('{"partial_unexpected_list": ["10"], "observed": 1}')
    page = gx / "uncommitted" / "data_docs" / "local_site" / "validations" / "events" / "run"
    page.mkdir(parents=True)
    (page / "a.html").write_text("<td>1</td>")
    (gx / "great_expectations.yml").write_text("config_version: 4  # 1")
    assert files.erase_validation_results(tmp_path / "quality", "1") == 1
    assert not listing.exists() and not (page / "a.html").exists()
    assert other.exists() and (gx / "great_expectations.yml").exists()


def test_rows_and_dead_letters_go_and_the_statements_keep_nothing_of_the_id(warehouse):
    rows_ = [("1", "a", "like", None, 0), ("11", "a", "like", None, 1), ("1", "b", "like", None, 2)]
    letters = [
        DeadLetter("t", 0, 0, b'{"user_id": "1", "item_id": "a", "event_type": "x"}', "bad"),
        DeadLetter("t", 0, 1, b'{"events": [{"user_id": "1"}, {"user_id": "2"}]}', "bad"),
        DeadLetter("t", 0, 2, b'{"user_id": "11", "event_type": "x"}', "bad"),
        DeadLetter("t", 0, 3, b"not json, user 1 here", "bad"),
    ]
    with warehouse.session() as client:
        source_tables.insert_events(client, events_frame(rows_))
        dead_letters.record(client, letters)
        removed = rows.erase_rows(client, "1")
        assert removed["events"] == 2 and removed["events_rejected"] == 3
        assert client.query("SELECT user_id FROM events").result_columns[0] == ["11"]
        offsets = client.query("SELECT offset FROM events_rejected").result_columns[0]
        assert list(offsets) == [2]
        commands = client.query("SELECT command FROM system.mutations").result_columns[0]
        # Neither the id nor anything computed from it: the rows come from a dropped table.
        assert commands and not any("'1'" in c or "SHA256" in c for c in commands)
        assert not client.query("SHOW TABLES LIKE 'erasing_%'").result_rows


def test_every_table_with_a_user_id_column_is_erased_even_one_added_later(warehouse):
    with warehouse.session() as client:
        client.command(
            "CREATE TABLE later_users (user_id String, x UInt8) ENGINE = MergeTree ORDER BY user_id"
        )
        try:
            client.insert("later_users", [["gone", 1], ["kept", 2]], column_names=["user_id", "x"])
            assert "later_users" in rows.user_tables(client)
            assert rows.erase_rows(client, "gone")["later_users"] == 1
            assert client.query("SELECT user_id FROM later_users").result_columns[0] == ["kept"]
        finally:
            client.command("DROP TABLE later_users SYNC")


def test_users_erased_after_a_versions_cut_off_are_found_in_its_lists(warehouse):
    """A run that read its events before an erasure lists the user again: found by the keyed
    hash, under the current key or a retired one still listed."""
    from datetime import UTC, datetime

    from recsys.warehouse import versions

    old_key, key = b"retired-key", b"current-key"
    keys = ErasureKeys(key, retired=(old_key,))
    cut_off = datetime(2026, 1, 1, tzinfo=UTC)
    with warehouse.session() as client:
        versions.record(
            client,
            versions.ModelVersion("v1", "als", trained_at=cut_off, events_ingested_until=cut_off),
        )
        client.insert(
            "user_recommendations",
            [["v1", user, 1, "a", 1.0, "als"] for user in ("1", "11", "before", "rotated")],
            column_names=["model_version", "user_id", "rank", "item_id", "score", "source"],
        )
        records.record(client, keys, "1")  # now: after the version's cut-off
        records.record(client, ErasureKeys(old_key), "rotated")
        client.insert(
            "user_erasures",
            [[keys.key_id, mac(key, "before"), datetime(2025, 1, 1, tzinfo=UTC)]],
            column_names=["key_id", "user_mac", "erased_at"],
        )
        assert records.erased_users_in_lists(client, keys) == ["1", "rotated"]
        assert records.erased_users_in_lists(client, ErasureKeys(key)) == ["1"]


def test_enumerating_plausible_ids_against_the_records_recovers_none(warehouse, tmp_path):
    """What an attacker with the whole warehouse has: the records. Without the key (which is
    not in it) no list of plausible ids matches one; with it, every erased id is found."""
    keys = erasure_keys(Settings(home=tmp_path))
    assert (tmp_path / "erasure-key").stat().st_mode & 0o077 == 0  # the owner's alone
    erased = {"u17", "u4242", "u99998", "never-existed"}
    with warehouse.session() as client:
        for user in erased:
            records.record(client, keys, user)
        stored = client.query("SELECT * FROM user_erasures").result_rows
        columns = client.query("SELECT name FROM system.columns WHERE table = 'user_erasures'")
    assert {c[0] for c in columns.result_rows} == {"key_id", "user_mac", "erased_at"}
    values = {str(v) for row in stored for v in row}
    candidates = [f"u{i}" for i in range(100_000)] + ["never-existed"]
    guessed_keys = [b"", b"recsys", keys.key_id.encode()]  # what a record could suggest
    for guess in guessed_keys:
        assert not {mac(guess, c) for c in candidates} & values
    import hashlib

    assert not {hashlib.sha256(c.encode()).hexdigest() for c in candidates} & values
    assert {c for c in candidates if keys.mac(c) in values} == erased
    # An id the system never knew leaves a record of the very same form as a known one.
    assert len(stored) == len(erased) and len({len(str(row[1])) for row in stored}) == 1
