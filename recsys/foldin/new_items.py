"""Items the served version does not know (added after it was trained), placed by content alone
until the next retrain learns them from interactions.

A new item gets a TF-IDF vector in the version's own vocabulary (`ContentVocabulary`); terms
only it uses are dropped. The rule that mixes it with the version's scores, said once:

    A new item takes the rank its content score has among the known items' content scores.

It has no collaborative evidence, so its content match decides where it enters: for a user
scored now (fold-in), its content score against the user's profile is ranked among the known
items' content scores (ties in its favour), and it gets the user's score at that quantile; in
an item's neighbour list, it enters at the position where its cosine to the item ranks among
the known items' cosines to it (it enters only if closer than the list's last known item).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.foldin.content_vocabulary import ContentVocabulary

NEIGHBOURS = 20  # a new item's own neighbour list, and how many lists it may join
BLOCK = 256  # new items compared at once (a block x items dense product)


@dataclass(frozen=True)
class NewItems:
    """New items' vectors, their nearest items by content, and the lists they join.

    A new item joins the neighbour lists of its NEIGHBOURS nearest *known* items, at the
    position its cosine has there (how many known items are closer to that item): that depends
    on the new item and the version alone, so it is found once per item, when it arrives, and
    kept while other items come and go.
    """

    rows: Mapping[str, tuple] = field(default_factory=dict, repr=False)  # id -> catalogue row
    item_ids: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    vectors: sp.csr_matrix = field(default_factory=lambda: sp.csr_matrix((0, 0)), repr=False)
    similar: Mapping[str, list[tuple[str, float]]] = field(default_factory=dict, repr=False)
    # new item -> (known item, position in its list); and known item -> (new item, position)
    entries: Mapping[str, list[tuple[str, int]]] = field(default_factory=dict, repr=False)
    joins: Mapping[str, list[tuple[str, int]]] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.item_ids)

    @classmethod
    def build(
        cls,
        rows: Mapping[str, tuple],
        vocabulary: ContentVocabulary,
        known_ids: np.ndarray,
        known_vectors: sp.csr_matrix,
        entries: Mapping[str, list[tuple[str, int]]] | None = None,
    ) -> NewItems:
        """From catalogue rows (item_id, title, genres, tags, year, ...) of items the version
        lacks; `known_vectors` are the version's own content rows (`known_ids` order).
        `entries` already found for some of them (unchanged rows) are kept."""
        if not rows or not len(vocabulary.terms):
            return cls(rows=dict(rows))
        kept = entries or {}
        frame = pd.DataFrame(
            [row[:5] for row in rows.values()],
            columns=["item_id", "title", "genres", "tags", "year"],
        )
        item_ids = frame["item_id"].to_numpy(dtype=object)
        vectors = vocabulary.vectors(frame)
        every_id = np.concatenate([np.asarray(known_ids, dtype=object), item_ids])
        every = sp.vstack([known_vectors, vectors]).tocsr()
        similar: dict[str, list[tuple[str, float]]] = {}
        joining: dict[int, list[tuple[str, float]]] = {}  # known column -> (new id, cosine)
        n_known = len(known_ids)
        for start in range(0, len(item_ids), BLOCK):
            cosines = (vectors[start : start + BLOCK] @ every.T).toarray()
            for offset, row in enumerate(cosines):
                new_id = str(item_ids[start + offset])
                row[n_known + start + offset] = -np.inf  # not its own neighbour
                similar[new_id] = [(str(every_id[c]), float(row[c])) for c in _nearest(row)]
                if new_id not in kept:
                    for c in _nearest(row[:n_known]):
                        joining.setdefault(int(c), []).append((new_id, float(row[c])))
        found = _entry_positions(joining, known_ids, known_vectors)
        entries_now = {i: kept[i] for i in similar if i in kept}
        for known_id, entering in found.items():
            for new_id, position in entering:
                entries_now.setdefault(new_id, []).append((known_id, position))
        joins: dict[str, list[tuple[str, int]]] = {}
        for new_id, places in entries_now.items():
            for known_id, position in places:
                joins.setdefault(known_id, []).append((new_id, position))
        for entering in joins.values():
            entering.sort(key=lambda join: join[1])
        return cls(dict(rows), item_ids, vectors, similar, entries_now, joins)

    def with_rows(
        self,
        changed: Mapping[str, tuple | None],
        vocabulary: ContentVocabulary,
        known_ids: np.ndarray,
        known_vectors: sp.csr_matrix,
    ) -> NewItems:
        """With these rows replaced (None removes one): vectors and own lists are found again
        (one product over the new items), the places in known lists only for changed items."""
        rows = {**self.rows, **changed}
        kept = {item_id: row for item_id, row in rows.items() if row is not None}
        unchanged = {i: e for i, e in self.entries.items() if i not in changed}
        return NewItems.build(kept, vocabulary, known_ids, known_vectors, unchanged)


def _nearest(cosines: np.ndarray) -> np.ndarray:
    """Columns of the NEIGHBOURS highest positive cosines, best first."""
    best = np.argsort(-cosines, kind="stable")[:NEIGHBOURS]
    return best[cosines[best] > 0]


def quantile_scores(scores: np.ndarray, content: np.ndarray, new_content: np.ndarray) -> np.ndarray:
    """The rule for a user scored now: each new item's content score is ranked among the known
    items' `content` scores, and it gets the `scores` value at that quantile."""
    finite = np.sort(scores[np.isfinite(scores)])
    if not len(finite) or not len(new_content):
        return np.full(len(new_content), -np.inf, dtype=np.float32)
    # Ties go the new item's way: a new release gets the benefit of the doubt over known items
    # that read exactly as well.
    quantile = np.searchsorted(np.sort(content), new_content, side="right") / max(len(content), 1)
    return np.quantile(finite, np.clip(quantile, 0.0, 1.0)).astype(np.float32)


def _entry_positions(
    joining: dict[int, list[tuple[str, float]]],
    known_ids: np.ndarray,
    known_vectors: sp.csr_matrix,
) -> dict[str, list[tuple[str, int]]]:
    """For each known item new items join: (new id, position) best first, the position being
    how many other known items are closer to it by content than the new item is."""
    columns = sorted(joining)
    joins: dict[str, list[tuple[str, int]]] = {}
    for start in range(0, len(columns), BLOCK):
        block = columns[start : start + BLOCK]
        cosines = (known_vectors[block] @ known_vectors.T).toarray()
        for row, column in zip(cosines, block, strict=True):
            row[column] = -np.inf  # not its own neighbour
            ordered = np.sort(row)
            joins[str(known_ids[column])] = sorted(
                (
                    (new_id, int(len(ordered) - np.searchsorted(ordered, cosine, side="right")))
                    for new_id, cosine in joining[column]
                ),
                key=lambda join: join[1],
            )
    return joins


def join_neighbours(
    neighbours: list[tuple[str, float]], joins: list[tuple[str, int]]
) -> list[tuple[str, float]]:
    """A known item's neighbour list with new items entered at their positions (each scored as
    the entry it goes before); those whose position is past the list's end stay out."""
    entering: dict[int, list[tuple[str, float]]] = {}
    for new_id, position in joins:
        if position < len(neighbours):
            entering.setdefault(position, []).append((new_id, neighbours[position][1]))
    merged: list[tuple[str, float]] = []
    for position, entry in enumerate(neighbours):
        merged.extend(entering.get(position, ()))
        merged.append(entry)
    return merged
