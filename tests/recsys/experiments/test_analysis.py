"""The statistics: user-level intervals, A/A calibration, detection of a real difference,
sample-ratio mismatch, and the decision the evidence supports."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys.experiments.analysis import analyse, ratio_interval
from recsys.experiments.decision import decide
from recsys.experiments.design import Experiment

CHAMPION_VS_CHALLENGER = Experiment.model_validate(
    {
        "name": "models",
        "min_users": 100,
        "variants": [{"name": "control"}, {"name": "challenger", "role": "challenger"}],
    }
)


def users(rng, n, shares=(0.5, 0.5), ctr=(0.10, 0.10)) -> pd.DataFrame:
    """Per-user outcomes: each user has their own click propensity (users differ a lot), so
    impressions of one user are correlated, as on a real platform."""
    variant = rng.choice(["control", "challenger"], size=n, p=shares)
    impressions = rng.integers(5, 60, size=n)
    base = np.where(variant == "control", ctr[0], ctr[1])
    propensity = np.clip(base * rng.gamma(2.0, 0.5, size=n), 0, 1)
    clicks = rng.binomial(impressions, propensity)
    return pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(n)],
            "variant": variant,
            "model_version": "m1",
            "impressions": impressions,
            "clicks": clicks,
            "conversions": rng.binomial(clicks, 0.4),
        }
    )


SHARES = {"control": 0.5, "challenger": 0.5}


def test_a_user_level_interval_is_wider_than_counting_impressions():
    rng = np.random.default_rng(1)
    frame = users(rng, 2000)
    rate = ratio_interval(frame["clicks"].to_numpy(float), frame["impressions"].to_numpy(float))
    p, n = rate.value, frame["impressions"].sum()
    naive = 1.96 * np.sqrt(p * (1 - p) / n)
    assert rate.low < p < rate.high
    assert (rate.high - rate.low) / 2 > 1.3 * naive  # users' propensities differ: wider


def test_a_a_tests_are_significant_about_alpha_of_the_time():
    rng = np.random.default_rng(7)
    significant = 0
    repeats = 200
    for _ in range(repeats):
        result = analyse("aa", users(rng, 400), "control", SHARES).variant("challenger")
        significant += result.p_value < 0.05
    assert 0.01 <= significant / repeats <= 0.10


def test_a_true_difference_is_detected_with_its_size():
    frame = users(np.random.default_rng(3), 4000, ctr=(0.10, 0.12))
    results = analyse("ab", frame, "control", SHARES)
    challenger = results.variant("challenger")
    assert challenger.p_value < 0.001
    assert challenger.lift.low < 0.2 < challenger.lift.high  # the true lift is +20%
    assert not results.sample_ratio_mismatch
    assert decide(CHAMPION_VS_CHALLENGER, results).action == "promote"
    worse = analyse(
        "ab", users(np.random.default_rng(4), 4000, ctr=(0.12, 0.10)), "control", SHARES
    )
    assert decide(CHAMPION_VS_CHALLENGER, worse).action == "retire"


def test_a_skewed_split_is_a_sample_ratio_mismatch_and_blocks_promotion():
    frame = users(np.random.default_rng(5), 3000, shares=(0.45, 0.55), ctr=(0.10, 0.12))
    results = analyse("srm", frame, "control", SHARES)
    assert results.sample_ratio_mismatch and results.srm_p_value < 0.001
    decision = decide(CHAMPION_VS_CHALLENGER, results)
    assert decision.action == "continue" and "sample ratio mismatch" in decision.reason
    fair = analyse("fair", users(np.random.default_rng(5), 3000), "control", SHARES)
    assert not fair.sample_ratio_mismatch


def test_too_few_users_or_no_challenger_means_keep_measuring():
    small = analyse("s", users(np.random.default_rng(6), 60, ctr=(0.05, 0.5)), "control", SHARES)
    assert decide(CHAMPION_VS_CHALLENGER, small).action == "continue"
    policies = Experiment.model_validate(
        {"name": "p", "variants": [{"name": "control"}, {"name": "challenger", "list": "trending"}]}
    )
    big = analyse("b", users(np.random.default_rng(6), 4000, ctr=(0.1, 0.2)), "control", SHARES)
    assert "nothing to promote" in decide(policies, big).reason


def test_results_by_model_version_split_a_variant():
    frame = users(np.random.default_rng(8), 1000)
    frame.loc[frame.index[::2], "model_version"] = "m2"
    results = analyse("v", frame, "control", SHARES)
    versions = {(r.variant, r.model_version) for r in results.by_version}
    assert versions == {(v, m) for v in SHARES for m in ("m1", "m2")}
    total = sum(r.impressions for r in results.by_version)
    assert total == sum(r.impressions for r in results.variants) == frame["impressions"].sum()
