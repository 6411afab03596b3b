import numpy as np
import pandas as pd

from recsys.data.synthetic import GENRES, SyntheticConfig, SyntheticWorld
from recsys.events.vocabulary import EVENT_TYPES, VALUE_RANGES

CONFIG = SyntheticConfig(users=500, items=300, events=30_000, seed=3)


def _events(config: SyntheticConfig, chunk_size: int = 7_000) -> pd.DataFrame:
    return pd.concat(SyntheticWorld(config).events(chunk_size), ignore_index=True)


def test_same_seed_same_rows_and_exact_count():
    first, second = _events(CONFIG), _events(CONFIG)
    assert len(first) == CONFIG.events
    pd.testing.assert_frame_equal(first, second)
    assert first["event_id"].is_unique


def test_streams_in_bounded_chunks():
    sizes = [len(chunk) for chunk in SyntheticWorld(CONFIG).events(chunk_size=4_000)]
    assert max(sizes) <= 4_000
    assert sum(sizes) == CONFIG.events


def test_events_are_well_formed():
    events = _events(CONFIG)
    assert set(events["event_type"]) == set(EVENT_TYPES)
    for event_type, (low, high) in VALUE_RANGES.items():
        values = events.loc[events["event_type"] == event_type, "value"].dropna()
        assert values.between(low, high).all(), event_type
    assert events.loc[events["event_type"] == "rating", "value"].notna().all()
    assert events["timestamp"].max() <= pd.Timestamp("2026-01-01", tz="UTC")


def test_catalogue_has_titles_genres_tags_and_years():
    items = SyntheticWorld(CONFIG).items()
    assert len(items) == CONFIG.items and items["item_id"].is_unique
    assert items["title"].str.len().gt(0).all()
    assert items["genres"].map(len).between(1, 3).all()
    assert set(np.concatenate(items["genres"].to_numpy())) <= set(GENRES)
    assert items["year"].between(1930, 2025).all()


def test_popularity_is_heavy_tailed():
    views = _events(CONFIG).query("event_type == 'view_start'")["item_id"].value_counts()
    top_tenth = views.iloc[: len(views) // 10].sum()
    assert top_tenth / views.sum() > 0.3  # the head carries far more than its 10% share


def test_users_like_what_matches_their_taste():
    world = SyntheticWorld(CONFIG)
    events = _events(CONFIG)
    genre_index = {genre: g for g, genre in enumerate(GENRES)}
    item_genres = world.item_genre_lists

    def mean_affinity(kind: str) -> float:
        rows = events[events["event_type"] == kind]
        users = rows["user_id"].str[1:].astype(int).to_numpy()
        items = rows["item_id"].str[1:].astype(int).to_numpy()
        return float(
            np.mean(
                [
                    max(world.taste[u, genre_index[g]] for g in item_genres[i])
                    for u, i in zip(users, items, strict=True)
                ]
            )
        )

    assert mean_affinity("like") > 1.5 * mean_affinity("dislike")
