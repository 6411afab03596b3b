"""Why each recommended item: the user's items that contributed most, and a reason."""

from __future__ import annotations

import numpy as np

from serving.held.catalogue_view import Catalogue
from serving.held.snapshot import Snapshot
from serving.lists.filters import Scored
from serving.lists.history import History

EXPLAINED_ITEMS = 3  # the user's items named per explained recommendation
# An explanation names what the user did with the item that weighed most in their history.
BECAUSE = {
    "like": "because you liked {}",
    "view_complete": "because you watched {}",
    "view_start": "because you started watching {}",
    "rating": "because you rated {}",
    "add_to_list": "because you added {} to your list",
    "search": "because you searched for {}",
}


def explain(
    snapshot: Snapshot, catalogue: Catalogue, history: History | None, items: list[Scored]
) -> list[dict]:
    """Per item: the user's items that contributed most (with shares) and a reason tag."""
    model = snapshot.fold_in
    shares = None
    positive = np.zeros(0, dtype=np.int64)
    if model is not None and history is not None:
        columns, known = model.columns(history.item_ids)
        confidences = history.confidences[known]
        positive = columns[confidences > 0]
        targets = [model.column_of.get(item_id, -1) for item_id, _, _ in items]
        valid = np.array([t >= 0 for t in targets], dtype=bool)
        shares = np.zeros((len(items), len(positive)))
        if valid.any() and len(positive):
            shares[valid] = model.contributions(columns, confidences, np.array(targets)[valid])
    liked_genres = (
        frozenset().union(*(catalogue.genres_of(i) for i in history.item_ids))
        if history is not None and len(history.item_ids)
        else frozenset()
    )
    explanations = []
    for row, (item_id, _, scored_by) in enumerate(items):
        because = []
        if shares is not None and scored_by != "trending" and len(positive):
            for column in np.argsort(-shares[row])[:EXPLAINED_ITEMS]:
                if shares[row, column] <= 0:
                    break
                source_id = str(model.items.item_ids[positive[column]])
                info = catalogue.record(source_id)
                because.append(
                    {
                        "item_id": source_id,
                        "title": info.title if info else source_id,
                        "share": round(float(shares[row, column]), 4),
                    }
                )
        if scored_by == "trending":
            reason = "trending"
        elif because and because[0]["share"] >= 0.2:
            verb = history.verb_of(because[0]["item_id"]) if history is not None else None
            reason = BECAUSE.get(verb or "", "because you watched {}").format(because[0]["title"])
        elif catalogue.genres_of(item_id) & liked_genres:
            reason = "matches your genres"
        else:
            reason = "popular with people like you"
        explanations.append({"reason": reason, "because": because})
    return explanations


def add_lifts(
    explanations: list[dict], items: list[Scored], lifts: dict[str, list[tuple[str, float]]]
) -> None:
    """Add a learned ranker's own account of each published item: the features (retriever
    scores and ranks, user, item and cross features) that raised it most (`pred_contrib`)."""
    for explanation, (item_id, _, _) in zip(explanations, items, strict=True):
        found = lifts.get(item_id)
        if found:
            explanation["lifted_by"] = [
                {"feature": name, "lift": round(float(lift), 4)} for name, lift in found
            ]
