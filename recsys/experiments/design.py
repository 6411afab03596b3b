"""What an experiment is: variants that split users by weight, each a served model role and
a serving policy on it, one of them the control.

Defined in a YAML file (`RECSYS_EXPERIMENTS_FILE`, a list under `experiments:`) or through the
admin API; both are this model, so both are checked the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from recsys.warehouse.roles import ROLES

Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
SURFACES = ("recommendations",)  # the surface experiments split today: users' own lists


class Variant(BaseModel):
    """A served role, and how its lists are served. Unset policy fields take the API's
    settings (`RECSYS_EXPLORATION_SHARE`, `RECSYS_DEMOTE_AFTER_IMPRESSIONS`)."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    weight: float = Field(default=1.0, gt=0, le=1_000_000, description="Share of users, relative")
    role: Literal[ROLES] = Field(default="champion", description="The published model it serves")
    list: Literal["model", "trending"] = Field(
        default="model", description="trending: the trending list instead (a control)"
    )
    diversity: float | None = Field(
        default=None, ge=0.0, le=1.0, description="MMR relevance weight (1: the ranking as is)"
    )
    exploration: float | None = Field(
        default=None, ge=0.0, le=0.5, description="Share of slots given to rarely shown items"
    )
    demote_after: int | None = Field(
        default=None, ge=0, le=1000, description="Impressions without engagement before an "
        "item is demoted for the user (0: never)",
    )  # fmt: skip

    def policy(self) -> dict:
        """What differs from serving the role's own list as is."""
        return self.model_dump(exclude={"name", "weight", "role"}, exclude_none=True)


class Experiment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    description: str = Field(default="", max_length=2000)
    surface: Literal[SURFACES] = "recommendations"
    variants: list[Variant] = Field(min_length=2, max_length=10)
    control: Name | None = Field(default=None, description="The variant others are compared to "
                                 "(default: the first)")  # fmt: skip
    status: Literal["running", "stopped"] = "running"
    alpha: float = Field(default=0.05, gt=0, lt=0.5, description="Significance level")
    min_users: int = Field(
        default=100, ge=1, description="Users each variant needs before a decision is taken"
    )
    auto_promote: bool = Field(
        default=False,
        description="Let `experiment_results` promote a significantly better challenger (and "
        "retire a significantly worse one) without an operator",
    )
    source: Literal["file", "api"] = Field(default="api", description="Where it was defined")

    @model_validator(mode="after")
    def _one_control(self) -> Experiment:
        names = [variant.name for variant in self.variants]
        if len(set(names)) != len(names):
            raise ValueError(f"variant names repeat: {names}")
        if self.control is None:
            self.control = names[0]
        elif self.control not in names:
            raise ValueError(f"control {self.control!r} is not one of the variants {names}")
        return self

    @property
    def control_variant(self) -> Variant:
        return next(v for v in self.variants if v.name == self.control)

    @property
    def roles(self) -> set[str]:
        return {variant.role for variant in self.variants}


class DefinitionError(ValueError):
    """An experiments file or definition that cannot be used, with the reason."""


def load_file(path: Path) -> list[Experiment]:
    """The experiments in a YAML file: `experiments: [{name, variants: [...]}, ...]`."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise DefinitionError(f"cannot read experiments file {path}: {error}") from error
    listed = document.get("experiments", []) if isinstance(document, dict) else None
    if not isinstance(listed, list):
        raise DefinitionError(f"{path}: expected a mapping with a list under 'experiments'")
    experiments = []
    for index, entry in enumerate(listed):
        try:
            experiments.append(Experiment.model_validate({**entry, "source": "file"}))
        except (ValidationError, TypeError) as error:
            raise DefinitionError(f"{path}: experiment {index + 1}: {error}") from error
    clash = conflicts(experiments)
    if clash:
        raise DefinitionError(f"{path}: {clash}")
    return experiments


def conflicts(experiments: list[Experiment]) -> str | None:
    """Why these cannot all run at once, or None: one running experiment per surface, so a
    user's list answers to one experiment and results are not confounded."""
    seen: dict[str, str] = {}
    names: set[str] = set()
    for experiment in experiments:
        if experiment.name in names:
            return f"experiment {experiment.name!r} is defined twice"
        names.add(experiment.name)
        if experiment.status != "running":
            continue
        other = seen.get(experiment.surface)
        if other:
            return (
                f"experiments {other!r} and {experiment.name!r} both run on "
                f"{experiment.surface}: stop one first"
            )
        seen[experiment.surface] = experiment.name
    return None
