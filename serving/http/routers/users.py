"""What a user did (counts, activity span, recent items, favourite genres), and erasing them."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from starlette.concurrency import run_in_threadpool

from serving.http.dependencies import AdminDep, CatalogueDep, SnapshotDep, StateDep
from serving.http.schemas import ActivityItem, GenreShare, Profile, UserErased
from serving.lists.history import user_activity
from serving.writes.user_erasure import erase_user

router = APIRouter(prefix="/users", tags=["users"])

TOP_GENRES = 5


@router.get("/{user_id}/profile", response_model=Profile)
async def profile(
    user_id: Annotated[str, Path(min_length=1, max_length=256)],
    snapshot: SnapshotDep,
    catalogue: CatalogueDep,
    state: StateDep,
) -> Profile:
    """Interaction counts by type, first and last activity, recent items, top genres (shares
    of the user's positive signal). 404 for a user with no events."""

    # A warehouse fault is a 503 with Retry-After (serving.http.errors): a profile has no fallback.
    activity, history = await run_in_threadpool(user_activity, state, snapshot, user_id)
    if not activity["counts"]:
        raise HTTPException(status_code=404, detail=f"no events for user_id {user_id!r}")
    weight_by_genre: Counter[str] = Counter()
    for item_id, confidence in zip(history.item_ids, history.confidences, strict=True):
        info = catalogue.record(item_id)
        if info is None or confidence <= 0 or not info.genres:
            continue
        for genre in info.genres:  # an item's signal is split over its genres
            weight_by_genre[genre] += float(confidence) / len(info.genres)
    total = sum(weight_by_genre.values())
    return Profile(
        user_id=user_id,
        events_by_type=activity["counts"],
        first_activity=activity["first"],
        last_activity=activity["last"],
        recent=[
            ActivityItem(
                item_id=item_id,
                title=info.title if (info := catalogue.record(item_id)) else None,
                event_type=event_type,
                value=value,
                timestamp=timestamp,
            )
            for item_id, event_type, value, timestamp in activity["recent"]
        ],
        top_genres=[
            GenreShare(genre=genre, share=round(weight / total, 4))
            for genre, weight in weight_by_genre.most_common(TOP_GENRES)
        ],
    )


@router.delete("/{user_id}", response_model=UserErased)
def erase(
    user_id: Annotated[str, Path(min_length=1, max_length=1024)], state: AdminDep
) -> UserErased:
    """Erase a user (admin token): their events, interactions, every kept version's lists, dead
    letters and quarantined events, the pipeline's stored values and step output, the model
    artefacts and validation results that hold their id, and every serving process's caches.
    Answers with every place searched and what this process could not reach, the same for a
    user the system never knew; the record it leaves is a keyed hash (the `receipt`).
    Afterwards the user is a new user; the next retrain's model has never seen them."""
    erased, receipt, key_id = erase_user(state, user_id)
    return UserErased(
        user_id=user_id,
        erased=True,
        receipt=receipt,
        key_id=key_id,
        searched=erased.searched,
        not_reached=erased.not_reached,
    )
