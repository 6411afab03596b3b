"""The code location of the bucket-step tests: the real assets, checks and `full_pipeline` on
the multiprocess executor, over small settings from RECSYS_HOME. A module of its own because
each step's process imports it to rebuild the job (`dg.reconstructable`).

With RECSYS_TEST_FAIL_BUCKET set, that bucket's first attempt loses its warehouse connection
right after its first rows are written, as a killed pod or process would: its retry must
replace those rows, and no other bucket's.
"""

import os
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from recsys_assets.definitions import all_assets, all_checks
from recsys_assets.jobs import full_pipeline_job
from recsys_assets.resources import WarehouseResource, build_resources
from tests.conftest import small_settings


class SliceThenFail:
    """A warehouse whose sessions fail once, just after one bucket's first insert is stored (a
    marker file remembers it happened, across processes); all else goes to the real one."""

    def __init__(self, store, bucket: int, marker: Path) -> None:
        self._store, self._bucket, self._marker = store, bucket, marker

    def __getattr__(self, name):
        return getattr(self._store, name)

    @contextmanager
    def session(self, *args, **kwargs):
        with self._store.session(*args, **kwargs) as client:
            yield _Client(client, self)

    def after_insert(self, table) -> None:
        if "bucket" not in table.column_names or self._marker.exists():
            return
        if table.column("bucket")[0].as_py() == self._bucket:
            self._marker.write_text(str(os.getpid()))
            raise RuntimeError(f"lost the connection mid-way through bucket {self._bucket}")


class _Client:
    def __init__(self, client, faults: SliceThenFail) -> None:
        self._client, self._faults = client, faults

    def __getattr__(self, name):
        return getattr(self._client, name)

    def insert_arrow(self, table_name, table, *args, **kwargs):
        stored = self._client.insert_arrow(table_name, table, *args, **kwargs)
        self._faults.after_insert(table)
        return stored


class FlakyWarehouseResource(WarehouseResource):
    fail_bucket: int
    marker: str

    def get(self):
        return SliceThenFail(super().get(), self.fail_bucket, Path(self.marker))


def _resources() -> dict:
    settings = small_settings(Path(os.environ["RECSYS_HOME"]))
    resources = build_resources(settings)
    if "RECSYS_TEST_FAIL_BUCKET" in os.environ:
        real = resources["warehouse"]
        resources["warehouse"] = FlakyWarehouseResource(
            **real.model_dump(),
            fail_bucket=int(os.environ["RECSYS_TEST_FAIL_BUCKET"]),
            marker=str(settings.home / "bucket-failed-once"),
        )
    return resources


def multiprocess_pipeline() -> dg.JobDefinition:
    definitions = dg.Definitions(
        assets=all_assets,
        asset_checks=all_checks,
        jobs=[full_pipeline_job("multiprocess")],
        resources=_resources(),
    )
    return definitions.resolve_job_def("full_pipeline")
