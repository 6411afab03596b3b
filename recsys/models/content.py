"""Content-based TF-IDF: items described by genres, tags, title words and decade.

Used for cold start (a user's few items pull in items that read alike) and for similar items
when collaborative signal is thin. Item vectors are L2-normalised TF-IDF rows, so a user's
score for an item is the confidence-weighted sum of its cosine to the items they had.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.foldin.content_vocabulary import EMPTY_VOCABULARY, ContentVocabulary, item_documents
from recsys.models.base import Recommender, cosine_neighbours, sparse_arrays
from recsys.models.matrix import InteractionMatrix

# Vocabularies up to this many terms are densified for neighbour search (items x terms floats).
DENSE_TERMS = 1024


def item_vectors(
    items: pd.DataFrame, item_ids: np.ndarray
) -> tuple[sp.csr_matrix, ContentVocabulary]:
    """TF-IDF rows for `item_ids` (in that order; items missing from `items` get empty rows)
    and the vocabulary they were fitted with."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    documents = item_documents(items).reindex(item_ids).fillna("")
    vectorizer = TfidfVectorizer(token_pattern=r"\S+", min_df=1, sublinear_tf=True)
    if not documents.str.len().any():
        return sp.csr_matrix((len(item_ids), 0), dtype=np.float32), EMPTY_VOCABULARY
    vectors = vectorizer.fit_transform(documents.to_numpy()).astype(np.float32).tocsr()
    vocabulary = ContentVocabulary(
        tuple(vectorizer.get_feature_names_out()), vectorizer.idf_.astype(np.float32)
    )
    return vectors, vocabulary


class ContentRecommender(Recommender):
    name = "content_tfidf"

    def __init__(self, items: pd.DataFrame) -> None:
        self.items = items

    def fit(self, train: InteractionMatrix) -> ContentRecommender:
        self.train = train
        self.vectors, self.vocabulary = item_vectors(self.items, train.item_ids)
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
