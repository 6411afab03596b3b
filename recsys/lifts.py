"""What lifted each item of a learned ranker's lists: per list slot, the features whose
contributions (LightGBM's `pred_contrib`) raised its score most.

Held as arrays, not a Python object per slot: a published list of 82,000 users has 4 million
slots, and a tuple per explained one cost a quarter of the ranker's scoring time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

LIFTS = 3  # features named per explained slot


@dataclass
class Lifts:
    """`features[row, slot]`: indexes into `names` of up to LIFTS features, largest lift
    first, -1 past the last positive one (and everywhere in slots not explained);
    `values[row, slot]`: their lifts."""

    names: tuple[str, ...]
    features: np.ndarray  # (rows, k, LIFTS) int16
    values: np.ndarray  # (rows, k, LIFTS) float32

    @classmethod
    def none(cls, names: list[str] | tuple[str, ...], rows: int, k: int) -> Lifts:
        """No slot explained yet."""
        return cls(
            tuple(names),
            np.full((rows, k, LIFTS), -1, np.int16),
            np.zeros((rows, k, LIFTS), np.float32),
        )

    @classmethod
    def of(
        cls,
        names: list[str],
        shape: tuple[int, int],
        rows: np.ndarray,
        slots: np.ndarray,
        contributions: np.ndarray,
    ) -> Lifts:
        """Slots (`rows[i]`, `slots[i]`) explained by `contributions[i]` (one per feature):
        the LIFTS largest, positive ones only."""
        lifts = cls.none(names, *shape)
        order = np.argsort(-contributions, axis=1)[:, :LIFTS]
        values = np.take_along_axis(contributions, order, axis=1)
        positive = values > 0
        named = order.shape[1]  # fewer than LIFTS when the model has fewer features
        lifts.features[rows, slots, :named] = np.where(positive, order, -1)
        lifts.values[rows, slots, :named] = np.where(positive, values, 0)
        return lifts

    def place(self, start: int, block: Lifts) -> None:
        """Copy `block` (rows from `start`, its own list length) into these lists."""
        rows, k = block.features.shape[:2]
        self.features[start : start + rows, :k] = block.features
        self.values[start : start + rows, :k] = block.values

    def slot(self, row: int, slot: int) -> tuple[list[str], list[float]]:
        """(features, lifts) of one slot, largest first."""
        kept = self.features[row, slot] >= 0
        return (
            [self.names[f] for f in self.features[row, slot][kept]],
            [float(v) for v in self.values[row, slot][kept]],
        )

    def arrow(self, mask: np.ndarray) -> tuple[pa.ListArray, pa.ListArray]:
        """The slots where `mask` (rows x k) is set, in row-major order, as two Arrow list
        columns (feature names, lifts); slots not explained get empty lists."""
        features, values = self.features[mask], self.values[mask]
        kept = features >= 0  # positive lifts come first in each slot
        offsets = np.concatenate([[0], np.cumsum(kept.sum(axis=1))]).astype(np.int32)
        names = np.asarray(self.names, dtype=object)[features[kept]]
        return (
            pa.ListArray.from_arrays(pa.array(offsets), pa.array(names, pa.string())),
            pa.ListArray.from_arrays(pa.array(offsets), pa.array(values[kept], pa.float32())),
        )
