"""What model selection found: each trial, each family's best and its test scores, the champion."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Trial:
    family: str
    params: dict[str, Any]
    metrics: dict[str, float]  # on the validation split
    fit_seconds: float


@dataclass
class FamilyResult:
    family: str
    best: Trial | None
    test_metrics: dict[str, float] = field(default_factory=dict)  # best params, outer test
    skipped: str = ""
    # What a family reports beyond metrics (the ranker: feature importances of its test fit).
    details: dict[str, Any] = field(default_factory=dict)
    # The ranker's booster exactly as scored on the test split (LightGBM's text form): the refit
    # on all data serves it and refits only the retrievers under it.
    tested_booster: str = ""


@dataclass
class Selection:
    families: dict[str, FamilyResult]
    baseline_validation: dict[str, float]
    baseline_test: dict[str, float]
    champion: str
    incumbent_test: dict[str, float] | None = None  # the published model's config, same split
    # Candidate recall@retrieval_n per family's best and for their union, on the test split.
    retrieval_recall: dict[str, float] = field(default_factory=dict)
    # Each family's (and popularity's) NDCG@10 per test user, for bootstrap intervals.
    test_per_user: dict[str, dict[int, float]] = field(default_factory=dict)

    @property
    def champion_result(self) -> FamilyResult:
        return self.families[self.champion]
