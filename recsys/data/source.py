"""Resolve `RECSYS_DATASET` into a dataset that yields a catalogue and a stream of events."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pandas as pd

from recsys.data.download import PINNED_MD5, download_movielens
from recsys.data.movielens import MovieLensFolder
from recsys.data.synthetic import SyntheticConfig, SyntheticWorld
from recsys.settings import Settings


class Dataset(Protocol):
    name: str

    @property
    def fingerprint(self) -> str:
        """Identifies exactly this data: loading the same fingerprint twice is a no-op."""
        ...

    def items(self) -> pd.DataFrame: ...

    def events(self, chunk_size: int = ...) -> Iterator[pd.DataFrame]: ...


class SyntheticDataset:
    name = "synthetic"

    def __init__(self, config: SyntheticConfig) -> None:
        self.config = config
        self._world: SyntheticWorld | None = None

    @property
    def world(self) -> SyntheticWorld:
        if self._world is None:
            self._world = SyntheticWorld(self.config)
        return self._world

    @property
    def fingerprint(self) -> str:
        return self.config.fingerprint

    def items(self) -> pd.DataFrame:
        return self.world.items()

    def events(self, chunk_size: int = 200_000) -> Iterator[pd.DataFrame]:
        return self.world.events(chunk_size)


class MovieLensDataset(MovieLensFolder):
    name = "movielens"


def open_dataset(settings: Settings) -> Dataset:
    """`synthetic`, `movielens:<folder>` or `movielens:<archive name>` (downloaded on first use)."""
    spec = settings.dataset.strip()
    if spec == "synthetic":
        return SyntheticDataset(
            SyntheticConfig(
                users=settings.synthetic_users,
                items=settings.synthetic_items,
                events=settings.synthetic_events,
                seed=settings.synthetic_seed,
            )
        )
    kind, _, where = spec.partition(":")
    if kind == "movielens" and where:
        folder = Path(where).expanduser()
        if folder.is_dir():
            return MovieLensDataset(folder.resolve())
        if where in PINNED_MD5:
            return MovieLensDataset(download_movielens(where, settings.datasets_dir))
        raise ValueError(
            f"RECSYS_DATASET={spec!r}: {where!r} is neither a folder nor a known MovieLens archive "
            f"({', '.join(PINNED_MD5)})"
        )
    raise ValueError(
        f"RECSYS_DATASET={spec!r} is not understood: "
        "use 'synthetic' or 'movielens:<folder or name>'"
    )
