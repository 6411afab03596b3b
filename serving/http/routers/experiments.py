"""Online experiments: define them (admin), see them with their live results, promote a
winning challenger (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from starlette.concurrency import run_in_threadpool

from recsys.experiments.design import Experiment
from serving.http import experiment_reports
from serving.http.dependencies import AdminDep, StateDep
from serving.http.errors import unprocessable
from serving.http.experiment_schemas import (
    ExperimentDeleted,
    ExperimentIn,
    ExperimentReport,
    ExperimentState,
    Promoted,
)
from serving.measurement.assignment import DefinitionConflict

router = APIRouter(prefix="/experiments", tags=["experiments"])

Name = Annotated[str, Path(min_length=1, max_length=64)]  # any: an unknown one is a 404


def _experiment(state, name: str) -> Experiment:
    experiment = state.online.experiments.get(name)
    if experiment is None:
        raise HTTPException(status_code=404, detail=f"no experiment named {name!r}")
    return experiment


@router.get("", response_model=list[ExperimentState])
def list_experiments(state: StateDep) -> list[dict]:
    """Every experiment defined (file and API), with its status."""
    return [
        {**e.model_dump(), "status": experiment_reports.status(state, e)}
        for e in state.online.experiments.all()
    ]


@router.get("/{name}", response_model=ExperimentReport)
def experiment(name: Name, state: StateDep) -> dict:
    """The experiment with its live results: per variant users, impressions, CTR and
    conversion with 95% intervals (user-level), lift against the control with its interval
    and p-value; per model version too; the sample-ratio test; what the evidence supports."""
    return experiment_reports.report(state, _experiment(state, name))


@router.put("/{name}", response_model=ExperimentState)
def put_experiment(name: Name, body: ExperimentIn, state: AdminDep) -> dict:
    """Define or replace an experiment (admin token). 409 when the file defines it or another
    running experiment holds its surface; 422 when the definition is invalid."""
    if body.name not in (None, name):
        raise unprocessable(
            ("body", "name"), f"the body names {body.name!r} but the path {name!r}", body.name
        )
    try:
        experiment = Experiment.model_validate({**body.model_dump(), "name": name})
    except ValueError as error:  # the path's name breaks the naming rule
        raise unprocessable(("path", "name"), f"experiment name: {error}", name) from error
    try:
        state.online.experiments.put(experiment)
    except DefinitionConflict as error:
        raise HTTPException(status_code=409, detail=str(error)) from error
    return {**experiment.model_dump(), "status": experiment_reports.status(state, experiment)}


@router.delete("/{name}", response_model=ExperimentDeleted)
def delete_experiment(name: Name, state: AdminDep) -> dict:
    """Remove an experiment defined through the API (admin token); its impressions and
    results stay."""
    try:
        removed = state.online.experiments.delete(name)
    except DefinitionConflict as error:
        raise HTTPException(status_code=409, detail=str(error)) from error
    if not removed:
        raise HTTPException(status_code=404, detail=f"no experiment named {name!r} to delete")
    return {"name": name, "deleted": True}


@router.post("/{name}/promote", response_model=Promoted)
async def promote(name: Name, state: AdminDep) -> dict:
    """Make the challenger the champion if it beats it with significance and users are split
    as the weights say (admin token); 409 with the reason otherwise. The MLflow `champion`
    alias follows at the pipeline's next registry sync."""
    experiment = _experiment(state, name)
    try:
        decision, moved = await run_in_threadpool(experiment_reports.promote, state, experiment)
    except experiment_reports.NotPromoted as error:
        raise HTTPException(status_code=409, detail=f"not promoted: {error}") from error
    return {"promoted": moved, "reason": decision.reason}
