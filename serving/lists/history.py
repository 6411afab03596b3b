"""Reading a user's history from the warehouse: what they did, weighed as training weighs it.

Cached per user until their next event or the next served version.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys.settings import DEFAULT_EVENT_WEIGHTS
from recsys.warehouse import user_reads
from recsys.warehouse.faults import unavailable_reason
from serving.held.snapshot import Snapshot
from serving.state import ServingState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class History:
    """A user's items with their confidence (0 where disliked), from all their events."""

    item_ids: np.ndarray
    confidences: np.ndarray
    disliked: np.ndarray
    strongest: np.ndarray | None = None  # per item, the event type that weighed most
    last_at: np.ndarray | None = None  # per item, its latest event (epoch seconds)
    ratings: np.ndarray | None = None  # per item, its rating (NaN: unrated)

    def verb_of(self, item_id: str) -> str | None:
        if self.strongest is None:
            return None
        found = np.flatnonzero(self.item_ids == item_id)
        return str(self.strongest[found[0]]) if len(found) else None

    @property
    def seen(self) -> frozenset[str]:
        return frozenset(str(i) for i in self.item_ids)


def user_history(
    state: ServingState, snapshot: Snapshot, user_id: str, stamp: int | None
) -> History:
    """The user's confidences per item, as training aggregates them (cached per stamp)."""
    key = (snapshot.model_version, stamp if stamp is not None else -1)
    cached = state.histories.get(user_id, key)
    if cached is not None:
        return cached
    spec = snapshot.fold_in.spec if snapshot.fold_in else None
    # Versions published without a fold-in spec were trained with the default weights.
    weights = (spec.event_weights if spec else None) or DEFAULT_EVENT_WEIGHTS
    reference = pd.Timestamp(spec.decay_reference) if spec and spec.decay_reference else None
    with state.warehouse.session(timeout=state.settings.fold_in_timeout_seconds) as client:
        frame = user_reads.user_interactions(
            client,
            user_id,
            weights,
            state.settings.quality_epoch,
            spec.decay_half_life_days if spec else 0.0,
            reference,
        )
    history = History(
        item_ids=frame["item_id"].to_numpy(dtype=object),
        confidences=frame["confidence"].to_numpy(dtype=np.float32),
        disliked=frame["disliked"].to_numpy().astype(bool),
        strongest=frame["strongest"].to_numpy(dtype=object),
        last_at=frame["last_at"].to_numpy(dtype=np.float64),
        ratings=frame["rating"].to_numpy(dtype=np.float64),
    )
    state.histories.put(user_id, key, history)
    return history


def history_or_none(
    state: ServingState, snapshot: Snapshot, user_id: str, stamp: int | None
) -> History | None:
    """The history, or None when the warehouse cannot answer in time (the caller falls back)."""
    try:
        return user_history(state, snapshot, user_id, stamp)
    except Exception as error:
        reason = unavailable_reason(error)
        if reason is None:
            raise
        log.warning("history of %r skipped: %s", user_id, reason)
        return None


def user_activity(state: ServingState, snapshot: Snapshot, user_id: str) -> tuple[dict, History]:
    """Event counts, first and last activity, recent events, and the weighed history."""
    with state.warehouse.session(timeout=state.settings.fold_in_timeout_seconds) as client:
        activity = user_reads.user_activity(client, user_id)
    return activity, user_history(state, snapshot, user_id, state.fresh.stamp(user_id))
