"""Content-based TF-IDF: items described by genres, tags, title words and decade.

Used for cold start (a user's few items pull in items that read alike) and for similar items
when collaborative signal is thin. Item vectors are L2-normalised TF-IDF rows, so a user's
score for an item is the confidence-weighted sum of its cosine to the items they had.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.matrix import InteractionMatrix
from recsys.models.base import Recommender, cosine_neighbours, sparse_arrays

# Words in any script ("Ficción", "日本映画"), compared case-insensitively: any taxonomy works.
_WORD = re.compile(r"\w+")
# Vocabularies up to this many terms are densified for neighbour search (items x terms floats).
DENSE_TERMS = 1024


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


def item_vectors(items: pd.DataFrame, item_ids: np.ndarray) -> sp.csr_matrix:
    """TF-IDF rows for `item_ids` (in that order); items missing from `items` get empty rows."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    documents = item_documents(items).reindex(item_ids).fillna("")
    vectorizer = TfidfVectorizer(token_pattern=r"\S+", min_df=1, sublinear_tf=True)
    if not documents.str.len().any():
        return sp.csr_matrix((len(item_ids), 0), dtype=np.float32)
    return vectorizer.fit_transform(documents.to_numpy()).astype(np.float32).tocsr()


class ContentRecommender(Recommender):
    name = "content_tfidf"

    def __init__(self, items: pd.DataFrame) -> None:
        self.items = items

    def fit(self, train: InteractionMatrix) -> ContentRecommender:
        self.train = train
        self.vectors = item_vectors(self.items, train.item_ids)
        return self

    def scores(self, user_rows: np.ndarray) -> np.ndarray:
        profiles = self.train.confidence[user_rows] @ self.vectors
        return np.asarray((profiles @ self.vectors.T).toarray(), dtype=np.float32)

    def similar(self, item_cols: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self.vectors.shape[1] <= DENSE_TERMS:
            return cosine_neighbours(self.vectors.toarray(), item_cols, k)
        return super().similar(item_cols, k)

    def item_similarity_rows(self, item_cols: np.ndarray) -> np.ndarray:
        return np.asarray((self.vectors[item_cols] @ self.vectors.T).toarray(), dtype=np.float32)

    def artifact_arrays(self) -> dict[str, np.ndarray]:
        return sparse_arrays("content_vectors", self.vectors)
