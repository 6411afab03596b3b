"""Serving a list under a policy (`serving.measurement.serving_policy`): the trending list as a
control, diversity, exploration of rarely shown items, and demotion of items a user keeps
ignoring."""

from __future__ import annotations

import random
from dataclasses import replace

from serving.held.catalogue_view import Catalogue
from serving.held.snapshot import Snapshot
from serving.lists import filters, path_choice
from serving.lists.filters import Scored
from serving.lists.history import history_or_none
from serving.lists.path_choice import ListOptions, Served
from serving.measurement.serving_policy import Policy
from serving.state import ServingState

EXPLORED = "exploration"  # the source of an item given a slot by exploration


def serve(
    state: ServingState,
    snapshot: Snapshot,
    catalogue: Catalogue,
    user_id: str,
    options: ListOptions,
    policy: Policy,
) -> Served:
    """The user's list under `policy` (may read the warehouse: call off the event loop)."""
    k = options.k
    if policy.list == "trending":
        # A fair control: what the user already took is left out, as the model's lists do.
        history = history_or_none(state, snapshot, user_id, state.fresh.stamp(user_id))
        unwanted = history.seen if history is not None else state.fresh.items_of(user_id)
        trending = ((i, s, "trending") for i, s in snapshot.trending)
        items = filters.top_up(
            [], k, trending, options.item_filter, catalogue.genres_of, unwanted,
            catalogue.blocked(),
        )  # fmt: skip
        served = Served("trending", items)
    else:
        if policy.diversity is not None:
            options = replace(options, diversity=policy.diversity)
        if policy.demote_after:  # room to replace what is demoted
            options = replace(options, k=min(2 * k, path_choice.MAX_K))
        served = path_choice.recommend(state, snapshot, catalogue, user_id, options)
    if not policy.changes_list:
        return served
    items = served.items
    exposure = state.online.exposure
    if policy.demote_after:
        shown = exposure.shown_to(user_id, state.fresh.stamp(user_id))
        items = demote(items, shown, policy.demote_after)
    items = items[:k]
    if policy.exploration:
        taken = {i for i, _, _ in items} | state.fresh.items_of(user_id) | catalogue.blocked()
        items = explore(items, k, policy.exploration, exposure.pool, taken, random.Random())
    if served.explanations is None:
        return Served(served.source, items)
    reasons = dict(zip((i for i, _, _ in served.items), served.explanations, strict=False))
    exploring = {"reason": "exploring: rarely shown so far", "because": []}
    return Served(served.source, items, [reasons.get(i, exploring) for i, _, _ in items])


def demote(items: list[Scored], shown: dict[str, int], after: int) -> list[Scored]:
    """Items shown `after` times or more (the user never took them) move behind the rest,
    in their order."""
    kept = [entry for entry in items if shown.get(entry[0], 0) < after]
    return kept + [entry for entry in items if shown.get(entry[0], 0) >= after]


def explore(
    items: list[Scored],
    k: int,
    share: float,
    pool: tuple[str, ...],
    taken: set[str],
    rng: random.Random,
) -> list[Scored]:
    """Give about `share` of k slots to rarely shown items, spread through the list (not all
    at the bottom, where nobody would see them). Rounded at random, so a share below 1/k still
    explores in that share of lists."""
    wanted = k * share
    slots = int(wanted) + (rng.random() < wanted - int(wanted))
    candidates = [i for i in pool if i not in taken]
    picks = rng.sample(candidates, min(slots, len(candidates)))
    if not picks:
        return items
    result = list(items)
    for n, item_id in enumerate(picks, start=1):
        at = min(round(n * k / (len(picks) + 1)), len(result))
        score = result[at - 1][1] if at else 0.0
        result.insert(at, (item_id, score, EXPLORED))
    return result[:k]
