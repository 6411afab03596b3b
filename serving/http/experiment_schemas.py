"""Response bodies of the experiments endpoints."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from recsys.experiments.analysis import VariantResult
from recsys.experiments.design import Experiment, Name
from serving.http.schemas import UtcTime

Status = Literal["running", "waiting", "stopped", "ignored"]
STATUS_HELP = (
    "running; waiting: a role it compares is not served (everyone gets the champion); "
    "stopped; ignored: another running experiment holds its surface"
)


class ExperimentIn(Experiment):
    """A definition as `PUT /experiments/{name}` takes it: the name comes from the path."""

    name: Name | None = Field(default=None, description="Optional; must match the path")
    source: Literal["api"] = "api"


class ExperimentState(Experiment):
    status: Status = Field(description=STATUS_HELP)


class Results(BaseModel):
    variants: list[VariantResult] = Field(description="Per variant, over all its model versions")
    by_model_version: list[VariantResult] = Field(description="Per (variant, model version)")
    sample_ratio_p_value: float = Field(description="Chi-square test of users per variant")
    sample_ratio_mismatch: bool = Field(description="p below 0.001: do not trust the comparison")
    expected_shares: dict[str, float]
    users_needed_per_variant: dict[str, int] = Field(
        description="To detect the observed CTR difference at alpha with 80% power"
    )


class DecisionNow(BaseModel):
    action: Literal["promote", "retire", "continue"]
    reason: str


class DecisionTaken(BaseModel):
    action: str
    model_version: str
    reason: str
    decided_at: UtcTime


class ExperimentReport(BaseModel):
    definition: Experiment
    status: Status = Field(description=STATUS_HELP)
    served_roles: dict[str, str | None] = Field(description="The version serving in each role")
    results: Results
    decision: DecisionNow = Field(description="What the evidence supports now")
    decisions: list[DecisionTaken] = Field(description="Promotions and retirements made")


class ExperimentDeleted(BaseModel):
    name: str
    deleted: bool


class Promoted(BaseModel):
    promoted: str = Field(description="The model version that is now the champion")
    reason: str
