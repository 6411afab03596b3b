"""One definition of a valid event: the Python, pandas, SQL and Great Expectations forms agree
on generated rows (hypothesis, seeded), and the rule means what its docstring says."""

from __future__ import annotations

import math
import sys
import unicodedata
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from recsys.events.ids import encode_id
from recsys.events.validity import (
    DEFAULT_EPOCH,
    MAX_ID_LENGTH,
    SPACE_SEPARATORS,
    TOLERANCE_MS,
    UNIX_EPOCH,
    event_problem,
    invalid_field_sql,
    invalid_fields,
    to_millis,
)
from recsys.events.vocabulary import EVENT_TYPES
from recsys.quality import reads, suites

NOW = datetime(2026, 6, 1, 12, 0, 0, 123000, tzinfo=UTC)
EPOCH = DEFAULT_EPOCH
SPECIAL = [
    "\x00", "\x07", "\t", "\n", "\x7f", "\x85", "\x9f",  # controls
    "\ud800", "\udc80", "\udfff",  # lone surrogates (JSON "\ud800"; invalid bytes read back)
    " ", "\xa0", "\u3000", "\u2009",  # space separators (invalid at either end only)
    "\u200f", "\u200d", "\u2066", "\ufeff",  # format marks: RTL, ZWJ, isolates, BOM (allowed)
    "e\u0301", "👩\u200d💻", "日本", "Ω", "\ufffd", "a", "Z", "0", "-", "_",
]  # fmt: skip
ids = st.one_of(
    st.lists(st.sampled_from(SPECIAL) | st.characters(codec="utf-8"), max_size=8).map("".join),
    st.builds(lambda c, n: c * n, st.sampled_from(["x", "é", "日"]), st.integers(250, 262)),
    st.builds(
        lambda edge, core, left: edge + core if left else core + edge,
        st.sampled_from([chr(c) for c in SPACE_SEPARATORS]),
        st.text(st.sampled_from(["a", "b", "é"]), min_size=1, max_size=4),
        st.booleans(),
    ),
)
values = st.one_of(
    st.none(),
    st.floats(allow_nan=False, allow_infinity=True, width=64),
    st.sampled_from([0.0, 0.5, 1.0, 5.0, 0.4999999, 5.0000001, 1.0000001, -0.0, 1e39, -1e-46]),
)
epoch_ms, now_ms = to_millis(EPOCH), to_millis(NOW)
times_ms = st.one_of(
    st.integers(epoch_ms - 3, epoch_ms + 3),
    st.integers(now_ms + TOLERANCE_MS - 3, now_ms + TOLERANCE_MS + 3),
    st.integers(
        to_millis(datetime(1950, 1, 1, tzinfo=UTC)), to_millis(datetime(2200, 1, 1, tzinfo=UTC))
    ),
)
rows = st.fixed_dictionaries(
    {
        "event_id": ids,
        "user_id": ids,
        "item_id": ids,
        "event_type": st.sampled_from([*EVENT_TYPES, "teleport", "", "Like"]),
        "value": values,
        "timestamp_ms": times_ms,
    }
)
batches = st.lists(
    rows, min_size=30, max_size=120, unique_by=lambda r: (r["user_id"], r["event_id"])
)


def _python(row: dict) -> str:
    event = {**row, "timestamp": UNIX_EPOCH + timedelta(milliseconds=row["timestamp_ms"])}
    problem = event_problem(event, EPOCH, accepted_at=NOW)
    return problem[0] if problem else ""


def _frame(batch: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(batch)
    frame["value"] = frame["value"].astype(object)
    frame["timestamp"] = pd.to_datetime(frame["timestamp_ms"], unit="ms", utc=True)
    return frame


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from recsys.warehouse.connection import Warehouse
    from recsys.warehouse.migrations import apply_migrations

    warehouse = Warehouse.from_url(f"chdb://{tmp_path_factory.mktemp('rule') / 'w'}")
    with warehouse.session() as client:
        apply_migrations(client)
    yield warehouse
    warehouse.close()


def _stored(client, batch: list[dict]) -> None:
    """Rows written as another writer could (direct inserts), ids byte for byte."""
    client.command("TRUNCATE TABLE events")
    client.insert(
        "events",
        [
            [
                encode_id(r["event_id"]), encode_id(r["user_id"]), encode_id(r["item_id"]),
                r["event_type"], r["value"],
                UNIX_EPOCH + timedelta(milliseconds=r["timestamp_ms"]), NOW, "test",
            ]
            for r in batch
        ],
        column_names=["event_id", "user_id", "item_id", "event_type", "value", "timestamp",
                      "ingested_at", "source"],
    )  # fmt: skip


@settings(
    max_examples=12,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],  # a failure prints its batch; shrinking is slow
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(batch=batches)
def test_python_pandas_sql_and_great_expectations_agree(store, batch):
    python = [_python(r) for r in batch]
    pandas_form = list(invalid_fields(_frame(batch), EPOCH, NOW))
    assert pandas_form == python
    # Id columns without surrogates take the Arrow path (RE2), the others the Python one.
    text = [(r, p) for r, p in zip(batch, python, strict=True) if not _has_surrogate(r)]
    if text:
        assert list(invalid_fields(_frame([r for r, _ in text]), EPOCH, NOW)) == [
            p for _, p in text
        ]

    # Float32 cannot hold a finite value beyond its range: such rows never reach the table
    # (the API and writers refuse them), so the stored forms are compared on the others.
    storable = [(r, p) for r, p in zip(batch, python, strict=True) if _fits_float32(r["value"])]
    invalid_sql, params = invalid_field_sql(EPOCH)
    with store.session() as client:
        _stored(client, [r for r, _ in storable])
        identity = ["user_id", "event_id"]
        sql = client.query(
            f"SELECT user_id, event_id, {invalid_sql} FROM events FINAL "
            "ORDER BY ingested_at DESC, user_id, event_id",
            parameters=params,
            column_formats={name: "bytes" for name in identity},
        ).result_rows
        frame = reads.newest_events(client, len(storable) + 10)
    by_identity = {(encode_id(r["user_id"]), encode_id(r["event_id"])): p for r, p in storable}
    assert {(u, e): field for u, e, field in sql} == by_identity

    report = suites.check_events(frame, EPOCH, max_invalid_rate=0.0, row_indexes=True)
    flagged = set().union(*(set(o.unexpected_rows) for o in report.outcomes))
    gx_invalid = [index in flagged for index in frame.index]
    assert gx_invalid == [field != "" for _, _, field in sql]


def _has_surrogate(row: dict) -> bool:
    return any(
        isinstance(row[f], str) and any(0xD800 <= ord(c) <= 0xDFFF for c in row[f])
        for f in ("event_id", "user_id", "item_id")
    )


def _fits_float32(value: float | None) -> bool:
    return value is None or not math.isfinite(value) or abs(value) <= 3.4028234663852886e38


def test_nan_is_invalid_as_sent_and_as_stored_and_missing_in_a_frame(store):
    assert event_problem(
        {"event_id": "e", "user_id": "u", "item_id": "i", "event_type": "like", "value": math.nan},
        EPOCH, NOW,
    ) == ("value", "must be a finite number (got nan)")  # fmt: skip
    row = {"event_id": "e", "user_id": "u", "item_id": "i", "event_type": "like",
           "value": math.nan, "timestamp_ms": now_ms}  # fmt: skip
    # A DataFrame cannot tell NaN from missing: writers store it as NULL, which is valid.
    assert list(invalid_fields(_frame([row]), EPOCH, NOW)) == [""]
    invalid_sql, params = invalid_field_sql(EPOCH)
    with store.session() as client:
        _stored(client, [row])  # another writer stored a real NaN
        (field,) = client.query(f"SELECT {invalid_sql} FROM events", parameters=params).first_row
        frame = reads.newest_events(client, 10)
    assert field == "value"
    assert not suites.check_events(frame, EPOCH, max_invalid_rate=0.0).success


def test_the_space_separators_are_unicodes():
    assert (
        tuple(c for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Zs")
        == SPACE_SEPARATORS
    )


@pytest.mark.parametrize(
    ("user_id", "valid"),
    [
        ("u0", True),
        ("u0\x00", False),
        ("e\u0301", True),  # combining accent
        ("\u200fمستخدم", True),  # RTL mark
        ("👩\u200d💻", True),  # emoji joined by ZWJ
        ("x" * MAX_ID_LENGTH, True),
        ("x" * (MAX_ID_LENGTH + 1), False),
        (" u0", False),
        ("u0\xa0", False),
        ("u 0", True),
        ("\ud800", False),
        ("", False),
    ],
)
def test_ids_follow_the_rule(user_id, valid):
    event = {"event_id": "e", "user_id": user_id, "item_id": "i", "event_type": "like"}
    assert (event_problem(event, EPOCH, NOW) is None) == valid


def test_one_vocabulary_of_event_types():
    from typing import get_args

    from recsys.events.payloads import EventType
    from recsys.events.vocabulary import VALUE_RANGES
    from recsys.settings import DEFAULT_EVENT_WEIGHTS

    assert set(get_args(EventType)) == set(DEFAULT_EVENT_WEIGHTS) == set(VALUE_RANGES)
    assert set(EVENT_TYPES) == set(DEFAULT_EVENT_WEIGHTS)
