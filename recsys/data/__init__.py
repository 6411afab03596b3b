"""Data sources: the synthetic streaming generator and the MovieLens loader."""

from recsys.data.source import Dataset, open_dataset

__all__ = ["Dataset", "open_dataset"]
