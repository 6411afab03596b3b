"""The catalogue's expectations: structure whatever the taxonomy, and the lifecycle."""

import pandas as pd

from recsys.quality import reads
from recsys.quality.item_suite import check_items


def _items() -> pd.DataFrame:
    return pd.DataFrame(
        {"item_id": ["a", "b"], "title": ["A", "B"], "genres": [["Drama"], ["Comedy", "War"]]}
    )


def test_items_pass_and_fail_with_reasons():
    assert check_items(_items()).success
    duplicated = pd.concat([_items(), _items().iloc[:1]])
    assert "item_id: expect_column_values_to_be_unique" in check_items(duplicated).reason()
    untitled = _items().assign(title=["A", " "])
    assert "title: expect_column_values_to_match_regex" in check_items(untitled).reason()
    malformed = _items().assign(genres=[["Drama", "Drama"], [" Comedy", "Sci\x00Fi"]])
    reason = check_items(malformed).reason()
    assert "malformed_genres" in reason and "' Comedy'" in reason and "'Drama'" in reason


def test_any_taxonomy_is_a_valid_catalogue():
    """The catalogue defines its own genres: names in any script and spelling pass."""
    foreign = pd.DataFrame(
        {
            "item_id": ["m1", "m2", "m3"],
            "title": ["Amélie", "千と千尋の神隠し", "Мастер и Маргарита"],
            "genres": [["Comédie romantique"], ["アニメ", "Fantasía"], ["Драма", "Vaporwave"]],
        }
    )
    assert check_items(foreign).success, check_items(foreign).reason()


def test_an_item_id_of_invalid_bytes_is_not_read_as_hex(warehouse):
    with warehouse.session() as client:
        client.insert(
            "items",
            [[b"fffe", "Real", ["Drama"], [], None], [b"\xff\xfe", "Bytes", ["Drama"], [], None]],
            column_names=["item_id", "title", "genres", "tags", "year"],
        )
        frame = reads.catalogue_for_checks(client)
    assert set(frame["item_id"]) == {"fffe", "\udcff\udcfe"}  # two items, not one
    report = check_items(frame)
    assert "item_id: expect_column_values_to_not_match_regex" in report.reason()


def test_the_lifecycle_is_checked():
    now = pd.Timestamp.now(tz="UTC")
    windowed = _items().assign(
        available_from=[now, None],
        available_until=[now - pd.Timedelta(days=1), None],
        hidden=[0, 1],
        deleted=[0, 0],
    )
    assert "window_backwards" in check_items(windowed).reason()
    assert check_items(windowed.assign(available_until=[now + pd.Timedelta(days=1), None])).success
