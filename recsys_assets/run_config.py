"""Run config whose defaults come from settings, resolved when a run starts.

A field left empty (None) takes the deployment's setting (`RunDefaults`, built from
`recsys.settings.Settings` with the other resources) when the step runs, not when the code
location is imported, so the launchpad shows what a run asked for and the asset's metadata
records what it used.
"""

from __future__ import annotations

from typing import ClassVar, Self

import dagster as dg


class RunDefaults(dg.ConfigurableResource):
    """The settings that run config falls back to (see `SettingsDefaults`)."""

    top_k: int
    trending_half_life_days: float
    decay_half_life_days: float
    ease_max_items: int
    min_improve: float
    collab_weight: float
    min_interactions_for_collab: int


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
