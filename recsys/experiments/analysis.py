"""An experiment's results from per-user outcomes: rates with 95% intervals, lift against the
control with its interval and p-value, and a sample-ratio-mismatch test.

The unit is the user: one user's impressions are not independent (a user who likes the
catalogue clicks everywhere), so a rate is a ratio of per-user means and its variance comes
from the delta method over users, never from counting impressions as trials. Comparisons use
tea-tasting (delta-method ratio metrics, Welch tests); the per-variant interval is the same
delta method, written out below since the library reports differences only.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

Z95 = 1.959963984540054
SRM_ALPHA = 0.001  # sample-ratio mismatch: the usual threshold, strict so it rarely cries wolf


@dataclass
class Rate:
    value: float
    low: float
    high: float


@dataclass
class VariantResult:
    variant: str
    model_version: str  # "" : all versions the variant served
    users: int
    impressions: int
    clicks: int
    conversions: int
    engaged_users: int
    ctr: Rate
    conversion: Rate
    lift: Rate | None = None  # relative CTR change against the control
    p_value: float | None = None  # CTR against the control (two-sided)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Results:
    experiment: str
    control: str
    variants: list[VariantResult]  # one per variant, all versions together
    by_version: list[VariantResult]  # one per (variant, model version)
    srm_p_value: float
    expected_shares: dict[str, float]

    @property
    def sample_ratio_mismatch(self) -> bool:
        return self.srm_p_value < SRM_ALPHA

    def variant(self, name: str) -> VariantResult | None:
        return next((v for v in self.variants if v.variant == name), None)


def ratio_interval(numerator: np.ndarray, denominator: np.ndarray) -> Rate:
    """sum(numerator) / sum(denominator) over users, with a 95% delta-method interval."""
    n = len(numerator)
    total = float(denominator.sum())
    if n == 0 or total == 0:
        return Rate(0.0, 0.0, 0.0)
    ratio = float(numerator.sum()) / total
    if n < 2:
        return Rate(ratio, ratio, ratio)
    mean_den = total / n
    residual = numerator - ratio * denominator
    se = math.sqrt(float(np.var(residual, ddof=1)) / n) / mean_den
    return Rate(ratio, max(0.0, ratio - Z95 * se), min(1.0, ratio + Z95 * se))


def _summary(users: pd.DataFrame, variant: str, model_version: str) -> VariantResult:
    impressions = users["impressions"].to_numpy(dtype=float)
    return VariantResult(
        variant=variant,
        model_version=model_version,
        users=len(users),
        impressions=int(impressions.sum()),
        clicks=int(users["clicks"].sum()),
        conversions=int(users["conversions"].sum()),
        engaged_users=int((users["clicks"] > 0).sum()),
        ctr=ratio_interval(users["clicks"].to_numpy(dtype=float), impressions),
        conversion=ratio_interval(users["conversions"].to_numpy(dtype=float), impressions),
    )


def _compare(per_user: pd.DataFrame, control: str, variant: str) -> tuple[Rate, float] | None:
    """Relative CTR lift of `variant` over `control` with its interval, and the p-value."""
    import tea_tasting as tt  # heavy to import; only analyses need it

    pair = per_user[per_user["variant"].isin([control, variant])]
    sizes = pair["variant"].value_counts()
    if len(sizes) < 2 or sizes.min() < 2 or pair["impressions"].sum() == 0:
        return None
    clicked = pair.groupby("variant")["clicks"].sum()
    if clicked.get(control, 0) == 0:
        return None  # a relative lift over nothing is undefined
    experiment = tt.Experiment(ctr=tt.RatioOfMeans("clicks", "impressions"))
    row = experiment.analyze(pair, control=control).to_dicts()[0]  # the pair: two variants
    lift = Rate(row["rel_effect_size"], row["rel_effect_size_ci_lower"],
                row["rel_effect_size_ci_upper"])  # fmt: skip
    p_value = row["pvalue"]
    return lift, (1.0 if p_value is None or math.isnan(p_value) else float(p_value))


def sample_ratio_p_value(users: dict[str, int], expected: dict[str, float]) -> float:
    """Chi-square test of users per variant against the shares the split promises."""
    observed = np.array([users.get(name, 0) for name in expected], dtype=float)
    if observed.sum() == 0:
        return 1.0
    shares = np.array(list(expected.values()), dtype=float)
    return float(stats.chisquare(observed, shares / shares.sum() * observed.sum()).pvalue)


def analyse(
    experiment: str, outcomes: pd.DataFrame, control: str, expected_shares: dict[str, float]
) -> Results:
    """Results from `attribution.outcomes_by_user` rows (user, variant, version, counts)."""
    per_user = (
        outcomes.groupby(["user_id", "variant"], as_index=False, sort=False)[
            ["impressions", "clicks", "conversions"]
        ].sum()
        if len(outcomes)
        else pd.DataFrame(columns=["user_id", "variant", "impressions", "clicks", "conversions"])
    )
    variants = []
    for name in expected_shares:
        summary = _summary(per_user[per_user["variant"] == name], name, "")
        if name != control:
            compared = _compare(per_user, control, name)
            if compared is not None:
                summary.lift, summary.p_value = compared
        variants.append(summary)
    by_version = [
        _summary(group, variant, version)
        for (variant, version), group in outcomes.groupby(["variant", "model_version"])
    ]
    users = {v.variant: v.users for v in variants}
    return Results(
        experiment=experiment,
        control=control,
        variants=variants,
        by_version=by_version,
        srm_p_value=sample_ratio_p_value(users, expected_shares),
        expected_shares=expected_shares,
    )


def users_needed(results: Results, variant: str, alpha: float = 0.05, power: float = 0.8) -> int:
    """Users per variant a two-sided test needs to detect the observed CTR difference with
    this power (normal approximation, per-user CTR variance as observed)."""
    control, other = results.variant(results.control), results.variant(variant)
    if control is None or other is None or other.ctr.value == control.ctr.value:
        return 0
    spread = max(_ctr_sd(control), _ctr_sd(other))
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return math.ceil(2 * (z * spread / (other.ctr.value - control.ctr.value)) ** 2)


def _ctr_sd(result: VariantResult) -> float:
    """The per-user standard deviation implied by the interval's width (delta method)."""
    se = (result.ctr.high - result.ctr.low) / (2 * Z95)
    return se * math.sqrt(max(result.users, 1))
