"""How a list is served: the role's own list as is, or with a policy on top of it.

A policy comes from the user's experiment variant, its unset parts from the API's settings;
with nothing set it is the plain list (and the hot path stays as it was).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from recsys.experiments.design import Variant
from recsys.settings import Settings


@dataclass(frozen=True)
class Policy:
    list: str = "model"  # "model" | "trending"
    diversity: float | None = None
    exploration: float = 0.0  # share of slots
    demote_after: int = 0  # impressions without engagement; 0: never

    @classmethod
    def of(cls, variant: Variant | None, settings: Settings) -> Policy:
        exploration = settings.exploration_share
        demote_after = settings.demote_after_impressions
        if variant is None:
            return cls(exploration=exploration, demote_after=demote_after)
        return cls(
            list=variant.list,
            diversity=variant.diversity,
            exploration=exploration if variant.exploration is None else variant.exploration,
            demote_after=demote_after if variant.demote_after is None else variant.demote_after,
        )

    @cached_property  # read on every request
    def plain(self) -> bool:
        """The role's own list, as is."""
        return self.list == "model" and self.diversity is None and not self.changes_list

    @cached_property
    def changes_list(self) -> bool:
        return self.exploration > 0 or self.demote_after > 0
