"""Both stages at request time, for a user the published lists do not cover yet (fold-in).

A ranker version publishes a bundle (`recsys.ranking.bundle`): every retriever's item side,
the item features as of publication, the items' genres and the booster. Here a user's current
history goes through each retriever (the fold-in scorers of `recsys.foldin`), the union of
their top N is described by the same features the batch path computes in SQL (user features
by `user_features`, the Python twin of `features.USERS_SQL`, which a test holds equal), and
the booster ranks it. numpy, scipy and LightGBM only: the API loads no training code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import scipy.sparse as sp

from recsys.foldin import second_stage
from recsys.foldin.scorers import COLLABORATIVE_SCORERS
from recsys.foldin.second_stage import Pairs, npz_arrays
from recsys.foldin.spec import FoldInSpec, ItemSide
from recsys.ranking.features import CROSS_FEATURES, ITEM_FEATURES, USER_FEATURES, row_max

RANKER_BUNDLE = "ranker"  # the bundle's name, and the family whose versions have one
MISSING_RANK = 1_000.0  # as `recsys.ranking.candidates`
RECENT = "recent_neighbours"
LAST_ITEMS = 5


@dataclass(frozen=True)
class Rule:
    rating_threshold: float = 4.0
    min_confidence: float = 3.0
    half_life_days: float = 30.0

    def positive(self, pairs: Pairs) -> np.ndarray:
        if self.rating_threshold == 0:
            return pairs.confidences > 0
        rated = ~np.isnan(pairs.ratings)
        good = np.where(
            rated, pairs.ratings >= self.rating_threshold, pairs.confidences >= self.min_confidence
        )
        return ~pairs.disliked & good


def user_features(pairs: Pairs, as_of: float, rule: Rule) -> dict[str, float]:
    """USER_FEATURES of one user as of `as_of` (epoch seconds), as `features.USERS_SQL`."""
    n = len(pairs.confidences)
    if n == 0:
        return dict.fromkeys(USER_FEATURES, np.nan)
    rated = ~np.isnan(pairs.ratings)
    ratings = pairs.ratings[rated]
    decay = np.exp2(-(as_of - pairs.last_at) / (rule.half_life_days * 86_400))
    return {
        "u_pairs": float(n),
        "u_decayed_confidence": float(np.sum(pairs.confidences * decay)),
        "u_mean_rating": float(ratings.mean()) if len(ratings) else np.nan,
        "u_rating_std": float(ratings.std()) if len(ratings) else np.nan,
        "u_rated_share": float(rated.mean()),
        "u_dislike_share": float(pairs.disliked.mean()),
        "u_positive_share": float(rule.positive(pairs).mean()),
        "u_span_days": float(pairs.last_at.max() - pairs.last_at.min()) / 86_400,
        "u_days_since_last": float(as_of - pairs.last_at.max()) / 86_400,
    }


def genre_affinity(pairs: Pairs, item_genres: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """The user's (share, preference) per genre, as `features.USER_GENRES_SQL`."""
    n = max(len(pairs.confidences), 1)
    member = item_genres[pairs.columns].toarray()  # pairs x genres
    rated = ~np.isnan(pairs.ratings)
    mean = pairs.ratings[rated].mean() if rated.any() else np.nan
    deviation = np.where(rated, pairs.ratings - mean, 0.0)
    deviation = np.nan_to_num(deviation)
    counts = member.sum(axis=0)
    share = counts / n
    preference = np.divide(deviation @ member, counts, out=np.zeros(len(counts)), where=counts > 0)
    return share, preference


class OnlineRanker:
    """A published ranker version's two stages, for one user at a time."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        meta = json.loads(str(arrays["meta"]))
        self.item_ids = arrays["item_ids"].astype(object)  # the version's item order
        self.depth: dict[str, int] = meta["depth"]
        self.rule = Rule(**meta["rule"])
        self.names: list[str] = meta["retrievers"]
        self.sparse = set(meta.get("sparse", []))  # retrieve reached items only, as in batch
        self.booster = lgb.Booster(model_str=str(arrays["booster"]))
        self.feature_names = self.booster.feature_name()
        self.item_features = arrays["item_features"]  # items x ITEM_FEATURES
        self.item_genres = _csr(arrays, "genres")
        self.scorers = {
            name: self._scorer(name, meta["kinds"][name], arrays) for name in self.names
        }

    def _scorer(self, name: str, kind: str, arrays: dict[str, np.ndarray]):
        if kind == "popularity":
            counts = arrays[f"{name}.counts"]
            return lambda pairs: counts.copy()
        if kind == "content":
            vectors = _csr(arrays, f"{name}.vectors")
            return lambda pairs: _content_scores(vectors, pairs)
        if kind == "recent":
            similarity = _csr(arrays, f"{name}.similarity")
            return lambda pairs: _recent_scores(lambda rows: similarity[rows].T, pairs)
        if kind == "recent_factors":  # cosine of ALS item factors, as ALS's similarity
            unit = arrays[f"{name}.unit_factors"]
            return lambda pairs: _recent_scores(lambda rows: unit @ unit[rows].T, pairs)
        spec = FoldInSpec.from_json(json.loads(str(arrays[f"{name}.spec"])))
        side = ItemSide(
            item_ids=self.item_ids,
            content=sp.csr_matrix((len(self.item_ids), 0), dtype=np.float32),
            factors=arrays.get(f"{name}.factors"),
            item_weights=_csr(arrays, f"{name}.weights")
            if f"{name}.weights_data" in arrays
            else None,
            length_norm=arrays.get(f"{name}.length_norm"),
        )
        scorer = COLLABORATIVE_SCORERS[spec.collaborative](spec, side)
        return lambda pairs: _positive_scores(scorer, pairs)

    def rank(self, pairs: Pairs, as_of: float, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The user's k best unseen version columns and the booster's scores, best first."""
        n_items = len(self.item_ids)
        seen = np.zeros(n_items, dtype=bool)
        seen[pairs.columns] = True
        found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name in self.names:
            scores = np.asarray(self.scorers[name](pairs), dtype=np.float32)
            scores[seen] = -np.inf
            if name in self.sparse:
                scores[scores <= 0] = -np.inf
            found[name] = _top(scores, self.depth.get(name, 100))
        union = np.unique(np.concatenate([cols for cols, _ in found.values()]))
        if len(union) == 0:
            return union, np.empty(0, np.float32)
        columns = {"retrieved_by": np.zeros(len(union), np.float32)}
        for name, (cols, scores) in found.items():
            at = np.searchsorted(union, cols)
            score = np.full(len(union), np.nan, np.float32)
            rank = np.full(len(union), MISSING_RANK, np.float32)
            score[at], rank[at] = scores, np.arange(1, len(cols) + 1)
            columns[f"{name}_score"], columns[f"{name}_rank"] = score, rank
            columns["retrieved_by"][at] += 1
        for name, value in user_features(pairs, as_of, self.rule).items():
            columns[name] = np.full(len(union), value)
        for index, name in enumerate(ITEM_FEATURES):
            columns[name] = self.item_features[union, index]
        share, preference = genre_affinity(pairs, self.item_genres)
        member = self.item_genres[union]
        counts = np.maximum(np.asarray(member.sum(axis=1)).ravel(), 1)
        shares = member.multiply(share[None, :]).tocsr()
        cross = {
            "x_genre_share_mean": np.asarray(shares.sum(axis=1)).ravel() / counts,
            "x_genre_share_max": row_max(shares),
            "x_genre_preference": np.asarray(member @ preference).ravel() / counts,
        }
        columns |= {name: cross[name] for name in CROSS_FEATURES}
        matrix = np.column_stack([columns[name] for name in self.feature_names]).astype(np.float32)
        values = self.booster.predict(matrix).astype(np.float32)
        order = np.argsort(-values, kind="stable")[:k]
        return union[order], values[order]


bundle_arrays = npz_arrays  # the arrays of a stored bundle (`recsys.ranking.bundle.to_bytes`)


def _positive_scores(scorer, pairs: Pairs) -> np.ndarray:
    keep = pairs.confidences > 0
    if not keep.any():
        return np.zeros(0, np.float32)
    return scorer.scores(pairs.columns[keep], pairs.confidences[keep].astype(np.float64))


def _content_scores(vectors: sp.csr_matrix, pairs: Pairs) -> np.ndarray:
    profile = np.asarray(vectors[pairs.columns].T @ pairs.confidences).ravel()
    return np.asarray(vectors @ profile, dtype=np.float32).ravel()


def _recent_scores(similar_to, pairs: Pairs) -> np.ndarray:
    """Recent neighbours: the last LAST_ITEMS positive items, weighted 1/position;
    `similar_to(rows)` is (all items x those rows) similarity."""
    positive = np.flatnonzero(pairs.confidences > 0)
    latest = positive[np.argsort(-pairs.last_at[positive], kind="stable")][:LAST_ITEMS]
    weights = 1.0 / np.arange(1, len(latest) + 1)
    return np.asarray(similar_to(pairs.columns[latest]) @ weights, dtype=np.float32).ravel()


def _top(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    if len(scores) == 0:
        return np.empty(0, np.int64), np.empty(0, np.float32)
    finite = int(np.isfinite(scores).sum())
    k = min(k, finite)
    if k <= 0:
        return np.empty(0, np.int64), np.empty(0, np.float32)
    part = np.argpartition(-scores, k - 1)[:k]
    part = part[np.argsort(-scores[part], kind="stable")]
    return part, scores[part]


def _csr(arrays: dict[str, np.ndarray], prefix: str) -> sp.csr_matrix:
    return sp.csr_matrix(
        (arrays[f"{prefix}_data"], arrays[f"{prefix}_indices"], arrays[f"{prefix}_indptr"]),
        shape=tuple(arrays[f"{prefix}_shape"]),
    )


# The API reads a ranker version's bundle through the registry (`recsys.foldin.second_stage`).
second_stage.register(RANKER_BUNDLE, lambda data: OnlineRanker(npz_arrays(data)))
