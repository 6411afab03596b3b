"""Variant assignment and experiment definitions."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from recsys.experiments.assignment import Splitter, position
from recsys.experiments.design import (
    DefinitionError,
    Experiment,
    conflicts,
    load_file,
)


def experiment(name="exp", weights=(1, 1), **extra) -> Experiment:
    variants = [{"name": f"v{n}", "weight": w} for n, w in enumerate(weights)]
    return Experiment.model_validate({"name": name, "variants": variants, **extra})


def test_assignment_is_stable_and_follows_the_weights():
    splitter = Splitter(experiment(weights=(3, 1)))
    users = [f"user-{n}" for n in range(20_000)]
    first = [splitter.variant_of(u).name for u in users]
    again = [Splitter(experiment(weights=(3, 1))).variant_of(u).name for u in users]
    assert first == again  # no state: any process computes the same
    share = first.count("v0") / len(users)
    assert 0.73 < share < 0.77


def test_experiments_split_independently_and_ids_are_exact_bytes():
    # A user's place in one experiment says nothing of its place in another.
    a = [position("a", f"u{n}") < 0.5 for n in range(4000)]
    b = [position("b", f"u{n}") < 0.5 for n in range(4000)]
    agreement = sum(x == y for x, y in zip(a, b, strict=True)) / len(a)
    assert 0.45 < agreement < 0.55
    # pandas' hashing truncates at NUL; hashlib does not.
    assert position("e", "a") != position("e", "a\x00")
    assert position("e", "ß") != position("e", "ss")


def test_definitions_are_checked():
    assert experiment().control == "v0"
    with pytest.raises(ValidationError, match="control 'nope'"):
        experiment(control="nope")
    with pytest.raises(ValidationError, match="repeat"):
        Experiment.model_validate({"name": "x", "variants": [{"name": "a"}, {"name": "a"}]})
    with pytest.raises(ValidationError):
        Experiment.model_validate({"name": "x", "variants": [{"name": "a", "role": "boss"}]})
    with pytest.raises(ValidationError):
        experiment(weights=(1, 0))
    clash = conflicts([experiment("one"), experiment("two")])
    assert clash and "both run on recommendations" in clash
    assert conflicts([experiment("one"), experiment("two", status="stopped")]) is None


def test_the_file_is_read_and_its_errors_are_readable(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(
        "experiments:\n"
        "  - name: champion-vs-trending\n"
        "    variants:\n"
        "      - {name: model, role: champion}\n"
        "      - {name: trending, list: trending}\n"
    )
    (loaded,) = load_file(good)
    assert loaded.source == "file" and loaded.variants[1].policy() == {"list": "trending"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("experiments:\n  - name: x\n    variants: [{name: a, weight: -1}]\n")
    with pytest.raises(DefinitionError, match="experiment 1"):
        load_file(bad)
    with pytest.raises(DefinitionError, match="cannot read"):
        load_file(tmp_path / "missing.yaml")
