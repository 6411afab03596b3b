"""The words of an item's content (genres, tags, title words, decade) and a fitted TF-IDF space
over them. Training fits the space (`recsys.models.content`); serving places items added later
in a published version's space without any training library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

# Words in any script ("Ficción", "日本映画"), compared case-insensitively: any taxonomy works.
_WORD = re.compile(r"\w+")


def item_documents(items: pd.DataFrame) -> pd.Series:
    """One bag-of-tokens document per item: genre_*, tag_*, title words, decade_*."""

    def document(row) -> str:
        tokens = [f"genre_{_slug(g)}" for g in row.genres]
        tokens += [f"tag_{_slug(t)}" for t in row.tags]
        tokens += _WORD.findall(str(row.title).casefold())
        if pd.notna(row.year) and row.year:
            tokens.append(f"decade_{int(row.year) // 10 * 10}")
        return " ".join(tokens)

    return pd.Series([document(row) for row in items.itertuples()], index=items["item_id"])


def _slug(text: str) -> str:
    return "_".join(_WORD.findall(str(text).casefold()))


@dataclass(frozen=True)
class ContentVocabulary:
    """A fitted TF-IDF space: its terms (by column) and their idf. Published with the version,
    so an item added later gets a vector in the same space (terms it alone uses are dropped)."""

    terms: tuple[str, ...]
    idf: np.ndarray

    @property
    def column_of(self) -> dict[str, int]:
        return {term: column for column, term in enumerate(self.terms)}

    def vectors(self, items: pd.DataFrame) -> sp.csr_matrix:
        """L2-normalised TF-IDF rows of `items` (in their order), as the fitted vectorizer
        would transform them: sublinear term frequency times idf."""
        columns = self.column_of
        indptr, indices, data = [0], [], []
        for document in item_documents(items):
            counts: dict[int, int] = {}
            for token in document.lower().split():
                column = columns.get(token)
                if column is not None:
                    counts[column] = counts.get(column, 0) + 1
            row = sorted(counts)
            values = np.array([(1.0 + np.log(counts[c])) * self.idf[c] for c in row])
            norm = np.linalg.norm(values) if len(values) else 0.0
            indices.extend(row)
            data.extend((values / norm).tolist() if norm > 0 else [0.0] * len(row))
            indptr.append(len(indices))
        return sp.csr_matrix(
            (np.asarray(data, np.float32), np.asarray(indices, np.int32), indptr),
            shape=(len(indptr) - 1, len(self.terms)),
        )


EMPTY_VOCABULARY = ContentVocabulary((), np.zeros(0, np.float32))
