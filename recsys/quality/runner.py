"""Validate a DataFrame against a list of GX expectations and summarise what failed and why.

GX 1.x directly (dagster-ge only supports GX < 1): an ephemeral context, a pandas data source
and a whole-dataframe batch. Each outcome keeps what was expected, what was observed, how many
rows failed and a few offending values, ready for Dagster check metadata.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from recsys.quality.docs import localise
from recsys.settings import data_docs_site

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
    unexpected_rows: list[Any] = field(default_factory=list)  # frame index labels, if asked

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
    docs_index: Path | None = None  # the Data Docs site this validation was published to

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


def validate(
    frame: pd.DataFrame,
    suite_name: str,
    expectations: list,
    docs_root: Path | None = None,
    row_indexes: bool = False,
) -> Report:
    """Run `expectations` (GX expectation objects) over `frame`.

    With `row_indexes`, each outcome lists the index labels of every failing row.

    With `docs_root`, a file-backed GX project there keeps the suite and the result and
    rebuilds its Data Docs site (`<docs_root>/gx/uncommitted/data_docs/local_site/index.html`).
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    # Steps in separate processes validate at once; a file-backed GX project read while
    # another process writes it comes back empty. One at a time per project.
    with _project_lock(docs_root):
        result_format = {
            "result_format": "COMPLETE" if row_indexes else "SUMMARY",
            "partial_unexpected_count": SAMPLE_SIZE,
        }
        if docs_root is None:
            context = gx.get_context(mode="ephemeral")
        else:
            docs_root.mkdir(parents=True, exist_ok=True)
            context = gx.get_context(mode="file", project_root_dir=str(docs_root))
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        source = context.data_sources.add_or_update_pandas("pandas")
        asset = next((a for a in source.assets if a.name == suite_name), None) or (
            source.add_dataframe_asset(name=suite_name)
        )
        batch_definition = next(
            (b for b in asset.batch_definitions if b.name == "whole"), None
        ) or asset.add_batch_definition_whole_dataframe("whole")
        suite = context.suites.add_or_update(
            gx.ExpectationSuite(name=suite_name, expectations=list(expectations))
        )
        if docs_root is None:
            result = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(
                suite, result_format=result_format
            )
            docs_index = None
        else:
            definition = context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=suite_name, data=batch_definition, suite=suite)
            )
            checkpoint = context.checkpoints.add_or_update(
                gx.Checkpoint(
                    name=suite_name,
                    validation_definitions=[definition],
                    actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs")],
                    result_format=result_format,
                )
            )
            run = checkpoint.run(batch_parameters={"dataframe": frame})
            result = next(iter(run.run_results.values()))
            docs_index = data_docs_site(docs_root) / "index.html"
            localise(docs_index.parent)
        return Report(
            suite=suite_name, rows=len(frame), outcomes=_outcomes(result), docs_index=docs_index
        )


@contextmanager
def _project_lock(docs_root: Path | None) -> Iterator[None]:
    """An exclusive lock on the GX project at `docs_root` (none for an ephemeral context)."""
    if docs_root is None:
        yield
        return
    docs_root.mkdir(parents=True, exist_ok=True)
    with (docs_root / ".gx-project.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _outcomes(result) -> list[Outcome]:
    outcomes = []
    for item in result.results:
        kwargs = dict(item.expectation_config.kwargs)
        details = item.result or {}
        outcomes.append(
            Outcome(
                expectation=item.expectation_config.type,
                column=kwargs.get("column")
                or " vs ".join(kwargs[k] for k in ("column_A", "column_B") if k in kwargs)
                or None,
                success=bool(item.success),
                expected={k: v for k, v in kwargs.items() if k not in ("batch_id",)},
                observed=details.get("observed_value"),
                unexpected_count=int(details.get("unexpected_count") or 0),
                unexpected_percent=float(details.get("unexpected_percent") or 0.0),
                sample=list(details.get("partial_unexpected_list") or [])[:SAMPLE_SIZE],
                unexpected_rows=list(details.get("unexpected_index_list") or []),
            )
        )
    return outcomes


def checkable(value: object) -> object:
    """GX hashes frames as UTF-8, which a lone surrogate (how invalid bytes read back) cannot
    be: each becomes DEL, as invalid under the rule as the surrogate was."""
    return value.translate(_SURROGATES_TO_DEL) if isinstance(value, str) else value


_SURROGATES_TO_DEL = {code: 0x7F for code in range(0xD800, 0xE000)}
