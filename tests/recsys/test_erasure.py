"""Erasure's stores read exactly: a short id removes only what names that user, and the ids
never appear in what ClickHouse keeps of the statements."""

from pathlib import Path

import numpy as np

from recsys import erasure
from recsys.ids import pack_ids
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
    assert erasure.erase_model_artefacts(tmp_path / "mlartifacts", "1") == 1
    assert not holds.exists() and similar.exists()

    storage = tmp_path / "storage"
    storage.mkdir()
    (storage / "candidate_model").write_bytes(b"...1...")
    (storage / "model_selection").write_bytes(b"...1...")  # not a value that holds users
    assert erasure.erase_stored_values(storage, "1") == 1
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
    assert erasure.erase_validation_results(tmp_path / "quality", "1") == 1
    assert not listing.exists() and not (page / "a.html").exists()
    assert other.exists() and (gx / "great_expectations.yml").exists()


def test_rows_and_dead_letters_go_and_the_statements_keep_only_a_hash(warehouse):
    rows = [("1", "a", "like", None, 0), ("11", "a", "like", None, 1), ("1", "b", "like", None, 2)]
    letters = [
        DeadLetter("t", 0, 0, b'{"user_id": "1", "item_id": "a", "event_type": "x"}', "bad"),
        DeadLetter("t", 0, 1, b'{"events": [{"user_id": "1"}, {"user_id": "2"}]}', "bad"),
        DeadLetter("t", 0, 2, b'{"user_id": "11", "event_type": "x"}', "bad"),
        DeadLetter("t", 0, 3, b"not json, user 1 here", "bad"),
    ]
    with warehouse.session() as client:
        source_tables.insert_events(client, events_frame(rows))
        dead_letters.record(client, letters)
        removed = erasure.erase_rows(client, "1", erasure.new_salt())
        assert removed["events"] == 2 and removed["events_rejected"] == 3
        assert client.query("SELECT user_id FROM events").result_columns[0] == ["11"]
        offsets = client.query("SELECT offset FROM events_rejected").result_columns[0]
        assert list(offsets) == [2]
        commands = client.query("SELECT command FROM system.mutations").result_columns[0]
        assert commands and not any("'1'" in command for command in commands)


def test_users_erased_after_a_versions_cut_off_are_found_in_its_lists(warehouse):
    """A run that read its events before an erasure lists the user again: found by hash."""
    from datetime import UTC, datetime

    from recsys.warehouse import versions

    cut_off = datetime(2026, 1, 1, tzinfo=UTC)
    with warehouse.session() as client:
        versions.record(
            client,
            versions.ModelVersion("v1", "als", trained_at=cut_off, events_ingested_until=cut_off),
        )
        client.insert(
            "user_recommendations",
            [["v1", user, 1, "a", 1.0, "als"] for user in ("1", "11", "before")],
            column_names=["model_version", "user_id", "rank", "item_id", "score", "source"],
        )
        salt = erasure.new_salt()
        erasure.record(client, salt, "1", {})  # now: after the version's cut-off
        client.insert(
            "user_erasures",
            [[salt, erasure.user_hash(salt, "before"), "{}", datetime(2025, 1, 1, tzinfo=UTC)]],
            column_names=["salt", "user_hash", "removed", "erased_at"],
        )
        assert erasure.erased_users_in_lists(client) == ["1"]
