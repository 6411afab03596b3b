"""What the pipeline and the API ask of a model between fitting and serving, one hook per moment,
each with a default that does nothing. A family with a second stage, features read from the
warehouse or request-time data of its own overrides the hooks it needs; the assets, the search
and the API call them on every model and never ask which family it is.

The moments, in order (`recsys.training.selection`, then `recsys_assets`'s `candidate_model`,
`item_model` and the list buckets, then the API's snapshot):

    search     bind_features -> reuse_fitted -> fit -> describe, tested_state, recall_models
    refit      attach_live -> adopt_tested -> fit_with_progress -> tracking_report
    publish    fold_in_parts, explains_itself -> serving_bundles; reattach in every step
    serve      the API loads each bundle by its name (`recsys.foldin.second_stage`)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Makes a progress callback for a fit: (label, total steps, unit) -> called once per step done.
ProgressFor = Callable[[str, int, str], Callable[[int], None]]


@dataclass(frozen=True)
class TrackingReport:
    """What a model adds to its MLflow run besides params, metrics and its file: JSON documents
    by artifact path, and metrics by name."""

    documents: dict[str, dict] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


class Lifecycle:
    # Do its precomputed lists carry their own account of each item (`recsys.lifts`), which the
    # API adds to explanations?
    explains_itself: bool = False

    # -- the search, on each split -------------------------------------------------------
    def bind_features(self, source: Any) -> Lifecycle:
        """Where features are computed for the next `fit` (a split's pairs staged in the
        warehouse; None when the search has no warehouse). Models that read none ignore it."""
        return self

    def reuse_fitted(self, fitted: Any) -> Lifecycle:
        """Take models the search already fitted on the same split (`recsys.ranking.fitted`)."""
        return self

    def describe(self) -> dict[str, Any]:
        """What the selection report shows of the fitted model beyond its metrics."""
        return {}

    def tested_state(self) -> str:
        """The part of the model fitted on the test split that the refit should keep as
        measured (text; empty: the refit fits everything)."""
        return ""

    def recall_models(self, family: str) -> dict[str, Any]:
        """The models whose candidates the search's candidate-recall report measures, by name:
        the model itself, unless its reach is other models' (a second stage)."""
        return {family: self}

    # -- the refit on all data ------------------------------------------------------------
    def attach_live(self, store: Any, as_of: datetime) -> Lifecycle:
        """Read what the model reads from the live warehouse `store`, as of `as_of`."""
        return self

    def adopt_tested(self, state: str) -> Lifecycle:
        """Keep the `tested_state` the champion rule measured (see `tested_state`)."""
        return self

    def fit_with_progress(self, train: Any, progress_for: ProgressFor) -> Lifecycle:
        """`fit`, reporting progress where a fit is long enough to watch."""
        return self.fit(train)  # type: ignore[attr-defined]

    def tracking_report(self) -> TrackingReport:
        return TrackingReport()

    # -- publication, and every step after it ---------------------------------------------
    def reattach(self, store: Any) -> Lifecycle:
        """The model in another step or process, where a warehouse handle does not travel."""
        return self

    def serving_bundles(self, store: Any) -> dict[str, bytes]:
        """Request-time data of its own, by bundle name, stored with the version; the API loads
        each through the second stage registered under that name."""
        return {}
