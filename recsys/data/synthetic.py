"""A deterministic, streaming generator of a content catalogue and its users' events.

Users have latent tastes over genres, items have power-law popularity, and each sampled
(user, item) interaction emits a realistic burst of events (search, view_start, view_complete,
rating, like, add_to_list, or a dislike when the item misses the user's taste). Events come out
in fixed-size pandas chunks, so tens of millions can be produced in bounded memory; the same seed
and sizes always yield the same rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

GENRES: tuple[str, ...] = (
    "Action",
    "Adventure",
    "Animation",
    "Children",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
    "Film-Noir",
)
_TITLE_FIRST = (
    "Silent",
    "Crimson",
    "Last",
    "Hidden",
    "Broken",
    "Golden",
    "Midnight",
    "Electric",
    "Distant",
    "Savage",
    "Quiet",
    "Burning",
    "Frozen",
    "Lost",
    "Wild",
    "Iron",
    "Paper",
    "Glass",
    "Velvet",
    "Hollow",
    "Bright",
    "Secret",
    "Northern",
    "Final",
)
_TITLE_SECOND = (
    "Harbor",
    "Empire",
    "Garden",
    "Signal",
    "Frontier",
    "Orchard",
    "Machine",
    "Kingdom",
    "River",
    "Witness",
    "Horizon",
    "Station",
    "Letters",
    "Storm",
    "Circus",
    "Voyage",
    "Detective",
    "Summer",
    "Shadows",
    "Engine",
    "Island",
    "Promise",
    "Heist",
    "Echo",
)
_TAGS_BY_GENRE = {
    genre: (f"{genre.lower()} classic", f"dark {genre.lower()}", f"feel-good {genre.lower()}")
    for genre in GENRES
}
END_OF_HISTORY = pd.Timestamp("2026-01-01", tz="UTC")
HISTORY_DAYS = 180


@dataclass(frozen=True)
class SyntheticConfig:
    users: int
    items: int
    events: int
    seed: int = 42

    @property
    def fingerprint(self) -> str:
        return (
            f"synthetic:users={self.users}:items={self.items}:events={self.events}:seed={self.seed}"
        )


class SyntheticWorld:
    """The latent world (catalogue, tastes, popularity) from which events are sampled."""

    def __init__(self, config: SyntheticConfig) -> None:
        self.config = config
        rng = np.random.default_rng(config.seed)
        n_genres = len(GENRES)
        genre_prior = rng.dirichlet(np.full(n_genres, 2.0))

        # Items: one to three genres each, drawn from a skewed genre prior.
        self.item_genres = np.zeros((config.items, n_genres), dtype=np.float32)
        counts = rng.choice([1, 2, 3], size=config.items, p=[0.45, 0.4, 0.15])
        self.item_genre_lists: list[list[str]] = []
        for item, count in enumerate(counts):
            chosen = rng.choice(n_genres, size=count, replace=False, p=genre_prior)
            self.item_genres[item, chosen] = 1.0 / count
            self.item_genre_lists.append([GENRES[g] for g in sorted(chosen)])
        self.primary_genre = self.item_genres.argmax(axis=1)
        # Power-law popularity, randomly assigned to items.
        ranks = rng.permutation(config.items)
        self.popularity = 1.0 / np.power(ranks + 5.0, 1.05)
        self.popularity /= self.popularity.sum()
        self._titles = [
            f"{_TITLE_FIRST[a]} {_TITLE_SECOND[b]}"
            for a, b in zip(
                rng.integers(0, len(_TITLE_FIRST), config.items),
                rng.integers(0, len(_TITLE_SECOND), config.items),
                strict=True,
            )
        ]
        self._years = np.clip(2025 - rng.exponential(14, config.items).astype(int), 1930, 2025)
        self._tag_draws = rng.random((config.items, 3))

        # Users: a peaked taste over genres and a heavy-tailed activity level.
        self.taste = rng.dirichlet(np.full(n_genres, 0.25), size=config.users).astype(np.float32)
        activity = rng.lognormal(0.0, 1.0, config.users)
        self.activity = activity / activity.sum()
        self.activity_cum = np.cumsum(self.activity)

        # Per genre: its items (by primary genre) and their cumulative popularity.
        self._genre_items = []
        self._genre_cum = []
        for g in range(n_genres):
            members = np.flatnonzero(self.primary_genre == g)
            if len(members) == 0:  # a tiny catalogue may lack a genre: fall back to all items
                members = np.arange(config.items)
            self._genre_items.append(members)
            self._genre_cum.append(np.cumsum(self.popularity[members]))
        self._popularity_cum = np.cumsum(self.popularity)

    # -- catalogue ---------------------------------------------------------------------------
    def items(self) -> pd.DataFrame:
        """The catalogue: item_id, title, genres, tags, year."""
        tags = []
        for item, genres in enumerate(self.item_genre_lists):
            options = _TAGS_BY_GENRE[genres[0]]
            tags.append([options[k] for k in range(3) if self._tag_draws[item, k] < 0.35])
        return pd.DataFrame(
            {
                "item_id": [item_id(i) for i in range(self.config.items)],
                "title": self._titles,
                "genres": self.item_genre_lists,
                "tags": tags,
                "year": self._years.astype("uint16"),
            }
        )

    # -- events ------------------------------------------------------------------------------
    def events(self, chunk_size: int = 200_000) -> Iterator[pd.DataFrame]:
        """Exactly `config.events` events, in chunks of at most `chunk_size` rows."""
        rng = np.random.default_rng([self.config.seed, 1])
        user_ids = np.array([user_id(u) for u in range(self.config.users)], dtype=object)
        item_ids = np.array([item_id(i) for i in range(self.config.items)], dtype=object)
        emitted = 0
        while emitted < self.config.events:
            # About 2.6 events per interaction on average; oversample a little and trim.
            wanted = min(chunk_size, self.config.events - emitted)
            chunk = self._event_chunk(rng, max(64, int(wanted / 2.2)), user_ids, item_ids)
            chunk = chunk.iloc[:wanted]
            ids = [f"syn{self.config.seed}-{n}" for n in range(emitted, emitted + len(chunk))]
            chunk.insert(0, "event_id", ids)
            emitted += len(chunk)
            yield chunk.reset_index(drop=True)

    def _event_chunk(
        self, rng: np.random.Generator, n: int, user_ids: np.ndarray, item_ids: np.ndarray
    ) -> pd.DataFrame:
        users = np.minimum(np.searchsorted(self.activity_cum, rng.random(n)), self.config.users - 1)
        items = self._sample_items(rng, users)
        affinity = (self.item_genres[items] * self.taste[users]).sum(axis=1) * len(GENRES) / 3.0
        affinity = np.clip(affinity, 0.0, 1.0)
        start = END_OF_HISTORY - pd.Timedelta(days=HISTORY_DAYS)
        # Interactions start early enough that their follow-ups (up to ~3 h later) end in time.
        span_ms = HISTORY_DAYS * 86_400_000 - 4 * 3_600_000
        at = start.value // 1_000_000 + (rng.random(n) * span_ms).astype(np.int64)

        completed = rng.random(n) < 0.2 + 0.7 * affinity
        watched_ms = rng.integers(20, 150, n) * 60_000
        after = at + watched_ms + 60_000
        rated = completed & (rng.random(n) < 0.35)
        stars = np.clip(np.round((1.2 + 3.6 * affinity + rng.normal(0, 0.6, n)) * 2) / 2, 0.5, 5.0)
        liked = completed & (rng.random(n) < 0.45 * affinity)
        listed = rng.random(n) < 0.08 + 0.1 * affinity
        disliked = ~completed & (affinity < 0.25) & (rng.random(n) < 0.35)
        searched = rng.random(n) < 0.06

        parts = [
            ("search", searched, at - 30_000, np.full(n, np.nan)),
            ("view_start", np.ones(n, dtype=bool), at, np.full(n, np.nan)),
            ("view_complete", completed, at + watched_ms, np.ones(n)),
            ("rating", rated, after, stars),
            ("like", liked, after + 1_000, np.full(n, np.nan)),
            ("add_to_list", listed, at - 10_000, np.full(n, np.nan)),
            ("dislike", disliked, at + 300_000, np.full(n, np.nan)),
        ]
        frames = []
        for event_type, mask, times, values in parts:
            frames.append(
                pd.DataFrame(
                    {
                        "order": np.flatnonzero(mask),
                        "user_id": user_ids[users[mask]],
                        "item_id": item_ids[items[mask]],
                        "event_type": event_type,
                        "value": values[mask].astype(np.float32),
                        "timestamp": pd.to_datetime(times[mask], unit="ms", utc=True),
                    }
                )
            )
        # Keep each interaction's events together so a trimmed chunk ends on whole interactions.
        events = pd.concat(frames, ignore_index=True).sort_values("order", kind="stable")
        events["source"] = "synthetic"
        return events.drop(columns="order")

    def _sample_items(self, rng: np.random.Generator, users: np.ndarray) -> np.ndarray:
        n = len(users)
        items = np.empty(n, dtype=np.int64)
        # 15% exploration by global popularity; the rest by a genre drawn from the user's taste.
        explore = rng.random(n) < 0.15
        items[explore] = np.minimum(
            np.searchsorted(
                self._popularity_cum, rng.random(explore.sum()) * self._popularity_cum[-1]
            ),
            self.config.items - 1,
        )
        rest = np.flatnonzero(~explore)
        taste_cum = np.cumsum(self.taste[users[rest]], axis=1)
        genres = (rng.random((len(rest), 1)) * taste_cum[:, -1:] < taste_cum).argmax(axis=1)
        for g in np.unique(genres):
            rows = rest[genres == g]
            cum = self._genre_cum[g]
            picks = np.minimum(np.searchsorted(cum, rng.random(len(rows)) * cum[-1]), len(cum) - 1)
            items[rows] = self._genre_items[g][picks]
        return items


def user_id(index: int) -> str:
    return f"u{index}"


def item_id(index: int) -> str:
    return f"i{index}"
