"""Validate a DataFrame against a list of GX expectations and summarise what failed and why.

GX 1.x directly (dagster-ge only supports GX < 1): an ephemeral context, a pandas data source
and a whole-dataframe batch. Each outcome keeps what was expected, what was observed, how many
rows failed and a few offending values, ready for Dagster check metadata.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
SAMPLE_SIZE = 5


@dataclass
class Outcome:
    expectation: str
    column: str | None
    success: bool
    expected: dict[str, Any]
    observed: Any = None
    unexpected_count: int = 0
    unexpected_percent: float = 0.0
    sample: list[Any] = field(default_factory=list)

    def describe(self) -> str:
        where = f"{self.column}: " if self.column else ""
        if self.unexpected_count:
            return (
                f"{where}{self.expectation} failed for {self.unexpected_count:,} rows "
                f"({self.unexpected_percent:.2f}%), e.g. {self.sample}"
            )
        return f"{where}{self.expectation} failed (observed {self.observed!r})"


@dataclass
class Report:
    suite: str
    rows: int
    outcomes: list[Outcome]

    @property
    def success(self) -> bool:
        return all(outcome.success for outcome in self.outcomes)

    @property
    def failures(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if not outcome.success]

    def reason(self) -> str:
        if self.success:
            return f"{self.suite}: all {len(self.outcomes)} expectations met on {self.rows:,} rows"
        return f"{self.suite}: " + "; ".join(failure.describe() for failure in self.failures)

    def as_markdown(self) -> str:
        lines = [
            "| expectation | column | ok | expected | observed | failing rows | sample |",
            "|---|---|---|---|---|---|---|",
        ]
        for o in self.outcomes:
            expected = ", ".join(f"{k}={v}" for k, v in o.expected.items() if k != "column")
            lines.append(
                f"| {o.expectation} | {o.column or ''} | {'yes' if o.success else '**no**'} | "
                f"{expected[:80]} | {o.observed if o.observed is not None else ''} | "
                f"{o.unexpected_count:,} | {o.sample} |"
            )
        return "\n".join(lines)


def validate(frame: pd.DataFrame, suite_name: str, expectations: list) -> Report:
    """Run `expectations` (GX expectation objects) over `frame`."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_definition = (
        context.data_sources.add_pandas("pandas")
        .add_dataframe_asset(name=suite_name)
        .add_batch_definition_whole_dataframe("whole")
    )
    suite = context.suites.add(gx.ExpectationSuite(name=suite_name))
    for expectation in expectations:
        suite.add_expectation(expectation)
    result = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(
        suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE}
    )
    outcomes = []
    for item in result.results:
        kwargs = dict(item.expectation_config.kwargs)
        details = item.result or {}
        outcomes.append(
            Outcome(
                expectation=item.expectation_config.type,
                column=kwargs.get("column"),
                success=bool(item.success),
                expected={k: v for k, v in kwargs.items() if k not in ("batch_id",)},
                observed=details.get("observed_value"),
                unexpected_count=int(details.get("unexpected_count") or 0),
                unexpected_percent=float(details.get("unexpected_percent") or 0.0),
                sample=list(details.get("partial_unexpected_list") or [])[:SAMPLE_SIZE],
            )
        )
    return Report(suite=suite_name, rows=len(frame), outcomes=outcomes)
