"""Acting on a decision against a real warehouse: promotion and retirement change the served
roles in one step, are recorded with their evidence, and are announced to readers."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

from recsys.experiments import store
from recsys.experiments.analysis import analyse
from recsys.experiments.conclusion import act, all_defined
from recsys.experiments.decision import Decision
from recsys.experiments.design import Experiment
from recsys.warehouse import versions
from recsys.warehouse.connection import Warehouse

EXPERIMENT = Experiment.model_validate(
    {"name": "models", "variants": [{"name": "control"}, {"name": "new", "role": "challenger"}]}
)


def _published(client, name: str, role: str) -> None:
    now = datetime.now(UTC)
    version = versions.ModelVersion(name, "als", trained_at=now, events_ingested_until=now)
    versions.publish(client, version, role=role)


def _results():
    frame = pd.DataFrame(
        {
            "user_id": [f"u{n}" for n in range(40)],
            "variant": ["control", "new"] * 20,
            "model_version": "v",
            "impressions": 10,
            "clicks": np.tile([1, 3], 20),
            "conversions": 0,
        }
    )
    return analyse("models", frame, "control", {"control": 0.5, "new": 0.5})


def test_promotion_and_retirement_move_roles_record_why_and_tell_readers(warehouse: Warehouse):
    with warehouse.session() as client:
        _published(client, "champ-1", "champion")
        _published(client, "chall-1", "challenger")
    results = _results()
    assert act(warehouse, EXPERIMENT, Decision("continue", "not yet"), results) == ""

    moved = act(warehouse, EXPERIMENT, Decision("promote", "challenger wins", "new"), results)
    assert moved == "chall-1"
    assert warehouse.published_markers() == {"champion": "chall-1"}

    with warehouse.session() as client:
        _published(client, "chall-2", "challenger")
    retired = act(warehouse, EXPERIMENT, Decision("retire", "challenger loses", "new"), results)
    assert retired == "chall-2"
    with warehouse.session() as client:
        served = {role: v.model_version for role, v in versions.served(client).items()}
        taken = store.decisions(client, "models")
    assert served == {"champion": "chall-1"}
    assert [(d["action"], d["model_version"]) for d in taken] == [
        ("promote", "chall-1"),
        ("retire", "chall-2"),
    ]
    assert taken[0]["reason"] == "challenger wins"


def test_definitions_from_the_api_are_stored_replaced_and_removed(warehouse: Warehouse, tmp_path):
    file = tmp_path / "experiments.yaml"
    file.write_text("experiments:\n  - name: f\n    variants: [{name: a}, {name: b}]\n")
    with warehouse.session() as client:
        store.save(client, EXPERIMENT)
        store.save(client, EXPERIMENT.model_copy(update={"description": "v2"}))
        names = [(e.name, e.source, e.description) for e in all_defined(client, file)]
        assert names == [("f", "file", ""), ("models", "api", "v2")]
        store.remove(client, "models")
        assert [e.name for e in all_defined(client, None)] == []
