"""Every asset's run config (what the Dagster launchpad can set per run), and how fields
that default to a setting are resolved when a run starts.

A field left empty (None) takes the deployment's setting (`RunDefaults`, built from
`recsys.settings.Settings` with the other resources) when the step runs, not when the code
location is imported, so the launchpad shows what a run asked for and the asset's metadata
records what it used.
"""

from __future__ import annotations

from typing import ClassVar, Literal, Self

import dagster as dg
from pydantic import Field

from recsys.evaluation.split import SplitConfig
from recsys.settings import DEFAULT_EVENT_WEIGHTS
from recsys.training.families import default_budget
from recsys.training.selection import SelectionConfig


class RunDefaults(dg.ConfigurableResource):
    """The settings that run config falls back to (see `SettingsDefaults`)."""

    top_k: int
    trending_half_life_days: float
    decay_half_life_days: float
    ease_max_items: int
    min_improve: float
    collab_weight: float
    min_interactions_for_collab: int
    evaluation_split: str
    relevance_min_rating: float
    generation_buckets: int


class SettingsDefaults(dg.Config):
    """Run config with fields that default to a setting: `from_settings` maps each such field
    to its `RunDefaults` name."""

    from_settings: ClassVar[dict[str, str]] = {}

    def resolved(self, defaults: RunDefaults) -> Self:
        """This config with every empty field set from `defaults`."""
        return self.model_copy(
            update={
                field: getattr(defaults, setting)
                for field, setting in self.from_settings.items()
                if getattr(self, field) is None
            }
        )

    def used(self) -> dict[str, object]:
        """The resolved values of the settings-backed fields, for the run's metadata."""
        return {field: getattr(self, field) for field in self.from_settings}


class InteractionsConfig(SettingsDefaults):
    from_settings = {"decay_half_life_days": "decay_half_life_days"}

    event_weights: dict[str, float] = dict(DEFAULT_EVENT_WEIGHTS)
    # 0 turns time decay off; else an event's weight halves every this many days of age.
    # Empty: RECSYS_DECAY_HALF_LIFE_DAYS.
    decay_half_life_days: float | None = None


class SelectionRunConfig(SettingsDefaults):
    """The search budget (trials per family; 0 leaves a family out), the evaluation split, and
    how many users (a fixed sample by id hash) tuning and evaluation read at most (0: all)."""

    from_settings = {
        **{
            name: name
            for name in (
                "ease_max_items",
                "min_improve",
                "collab_weight",
                "min_interactions_for_collab",
            )
        },
        "split_mode": "evaluation_split",
        "rating_threshold": "relevance_min_rating",
    }

    # Trials per model family (recsys.training.families); a family left out is not searched.
    budget: dict[str, int] = default_budget()
    ease_max_items: int | None = None  # empty: RECSYS_EASE_MAX_ITEMS
    holdout_fraction: float = 0.2
    # Empty: RECSYS_EVALUATION_SPLIT (temporal, global_time, random, leave_last_out) and
    # RECSYS_RELEVANCE_MIN_RATING.
    split_mode: str | None = None
    rating_threshold: float | None = None
    # Empty: RECSYS_MIN_IMPROVE, RECSYS_COLLAB_WEIGHT, RECSYS_MIN_INTERACTIONS_FOR_COLLAB.
    min_improve: float | None = None
    collab_weight: float | None = None
    min_interactions_for_collab: int | None = None
    seed: int = 42
    max_users: int = 50_000
    # Candidates per family for the candidate-recall report on the test split (0: no report).
    retrieval_n: int = 100
    # The ranker's candidates per retriever (a family name or "recent_neighbours"); a retriever
    # not named here contributes retrieval_n (100 when that is 0).
    ranker_candidates: dict[str, int] = {}
    # Test users every family is scored on at most (a fixed sample by id hash).
    max_test_users: int = 10_000

    def to_selection_config(self) -> SelectionConfig:
        """The search this run asked for; a family name the registry does not know is a
        failure that lists the known ones."""
        try:
            return self._selection_config()
        except ValueError as error:
            raise dg.Failure(f"model_selection config: {error}") from error

    def _selection_config(self) -> SelectionConfig:
        return SelectionConfig(
            budget={family: n for family, n in self.budget.items() if n > 0},
            split=SplitConfig(
                holdout_fraction=self.holdout_fraction,
                mode=self.split_mode,  # type: ignore[arg-type]
                rating_threshold=self.rating_threshold,
                seed=self.seed,
            ),
            ease_max_items=self.ease_max_items,
            collab_weight=self.collab_weight,
            min_interactions_for_collab=self.min_interactions_for_collab,
            seed=self.seed,
            retrieval_n=self.retrieval_n,
            ranker_candidates=dict(self.ranker_candidates),
            max_test_users=self.max_test_users,
        )


class RecommendationsConfig(SettingsDefaults):
    from_settings = {"top_k": "top_k", "buckets": "generation_buckets"}

    top_k: int | None = None  # empty: RECSYS_TOP_K
    # Users are split into this many buckets by a hash of their id; each bucket is one step of
    # the run, computed, written and retried on its own (see recsys.training.generation).
    buckets: int | None = Field(default=None, ge=1, le=1024)  # empty: RECSYS_GENERATION_BUCKETS
    # Threads computing slices of a bucket at once; 0 leaves it to the model: one for those
    # implicit scores (it already uses every core), one per core (up to four) for the ranker.
    workers: int = Field(default=0, ge=0)


class SimilarItemsConfig(dg.Config):
    top_k: int = 20
    # Items with fewer positive users than this take their neighbours from content similarity.
    min_users_for_collaborative: int = 5


class TrendingConfig(SettingsDefaults):
    from_settings = {"half_life_days": "trending_half_life_days"}

    half_life_days: float | None = None  # empty: RECSYS_TRENDING_HALF_LIFE_DAYS
    limit: int = 1000  # per window: enough to fill filtered lists (a genre, a top-up)


class PublicationConfig(dg.Config):
    """Which role a retrained model may take (`recsys.training.selection.publication_role`)."""

    role: Literal["auto", "champion", "challenger"] = "auto"
    # auto: a model that lost offline by less than this is published as challenger (0: never).
    challenger_margin: float = 0.0
