"""Bootstrap intervals over test users: how far a model's mean NDCG could move by chance.

Every model is resampled with the *same* draws of users (paired), so the interval of a
difference between two models is far narrower than the two intervals side by side would
suggest: with 591 test users, single intervals are about +-0.015 wide, while a difference of
0.01 between two models can still be clear.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

DRAWS = 1_000
LEVEL = 0.95


def _matrix(per_user: Mapping[str, Mapping[int, float]]) -> tuple[list[str], np.ndarray]:
    names = list(per_user)
    users = sorted(set().union(*(set(v) for v in per_user.values()))) if names else []
    values = np.array([[per_user[n].get(u, 0.0) for u in users] for n in names], dtype=np.float64)
    return names, values


def _draws(n_users: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n_users, size=(DRAWS, n_users))


def intervals(
    per_user: Mapping[str, Mapping[int, float]], seed: int = 0
) -> dict[str, tuple[float, float]]:
    """Each model's 95% interval of its mean over users (a user it has no value for counts 0)."""
    names, values = _matrix(per_user)
    if not names or values.shape[1] == 0:
        return {}
    means = values[:, _draws(values.shape[1], seed)].mean(axis=2)  # models x draws
    low, high = np.quantile(means, [(1 - LEVEL) / 2, (1 + LEVEL) / 2], axis=1)
    return {n: (float(lo), float(hi)) for n, lo, hi in zip(names, low, high, strict=True)}


def difference(
    per_user: Mapping[str, Mapping[int, float]], better: str, worse: str, seed: int = 0
) -> tuple[float, float, float]:
    """Mean of `better` minus `worse` over the same users, and its paired 95% interval."""
    _, values = _matrix({better: per_user[better], worse: per_user[worse]})
    gap = values[0] - values[1]
    if len(gap) == 0:
        return 0.0, 0.0, 0.0
    means = gap[_draws(len(gap), seed)].mean(axis=1)
    low, high = np.quantile(means, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return float(gap.mean()), float(low), float(high)
