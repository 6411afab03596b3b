"""Loader for folders in the MovieLens CSV layout (ml-latest-small, ml-20m, ml-25m, ...).

ratings.csv becomes `rating` events (the stars as value), movies.csv the catalogue (title, year,
genres) and the optional tags.csv adds each movie's most used tags. Ratings are read in chunks, so
ml-25m streams in bounded memory.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from recsys.events.validity import MAX_ID_LENGTH

_YEAR_AT_END = re.compile(r"\s*\((\d{4})\)\s*$")
NO_GENRES = "(no genres listed)"
TAGS_PER_ITEM = 10


class MovieLensFolder:
    """One MovieLens folder; `items()` and `events()` yield frames in the project's columns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        missing = [name for name in ("ratings.csv", "movies.csv") if not (path / name).is_file()]
        if missing:
            raise FileNotFoundError(
                f"{path} is not a MovieLens folder: missing {', '.join(missing)}"
            )

    @property
    def fingerprint(self) -> str:
        stat = (self.path / "ratings.csv").stat()
        return f"movielens:{self.path}:{stat.st_size}:{int(stat.st_mtime)}"

    def items(self) -> pd.DataFrame:
        """The catalogue. A missing id or title stays empty (the items check counts it); bytes
        that are not UTF-8 read as U+FFFD, so one bad byte cannot stop the load."""
        movies = _read_text(self.path / "movies.csv", encoding_errors="replace")
        titles = movies["title"].str.strip()
        years = titles.str.extract(_YEAR_AT_END)[0].astype("Int64")
        tags = self._tags()
        return pd.DataFrame(
            {
                "item_id": movies["movieId"],
                "title": titles.str.replace(_YEAR_AT_END, "", regex=True),
                "genres": movies["genres"].map(_split_genres),
                "tags": movies["movieId"].map(lambda movie: tags.get(movie, [])),
                "year": years.astype("UInt16"),
            }
        )

    def events(self, chunk_size: int = 1_000_000) -> Iterator[pd.DataFrame]:
        """Ratings as events. Every field is read as text and numbers are coerced, so a
        malformed row (stars or time not a number, an id missing, bytes that are not UTF-8)
        becomes an invalid event that the loader quarantines with its reason, instead of
        stopping the load; distinct bad bytes stay distinct (surrogate escapes)."""
        reader = _read_text(
            self.path / "ratings.csv", encoding_errors="surrogateescape", chunksize=chunk_size
        )
        for chunk in reader:
            seconds = pd.to_numeric(chunk["timestamp"], errors="coerce")
            yield pd.DataFrame(
                {
                    "event_id": _event_ids(chunk),
                    "user_id": chunk["userId"],
                    "item_id": chunk["movieId"],
                    "event_type": "rating",
                    "value": pd.to_numeric(chunk["rating"], errors="coerce").astype("float32"),
                    "timestamp": pd.to_datetime(seconds, unit="s", utc=True, errors="coerce"),
                    "source": "movielens",
                }
            )

    def _tags(self) -> dict[str, list[str]]:
        path = self.path / "tags.csv"
        if not path.is_file():
            return {}
        tags = _read_text(path, encoding_errors="replace", usecols=["movieId", "tag"])
        tags["tag"] = tags["tag"].fillna("").str.strip().str.lower()
        tags = tags[tags["tag"] != ""]
        counts = tags.groupby(["movieId", "tag"]).size().rename("n").reset_index()
        counts = counts.sort_values(["movieId", "n", "tag"], ascending=[True, False, True])
        top = counts.groupby("movieId").head(TAGS_PER_ITEM)
        return top.groupby("movieId")["tag"].agg(list).to_dict()


def _read_text(path: Path, encoding_errors: str, **options):
    """A CSV with every field as text ('' when empty): what a field means is decided after
    reading, so one malformed value cannot stop a load. A row with too many fields is warned
    about and skipped; missing fields read as empty."""
    return pd.read_csv(
        path,
        dtype=str,
        keep_default_na=False,
        encoding_errors=encoding_errors,
        on_bad_lines="warn",
        **options,
    )


def _event_ids(chunk: pd.DataFrame) -> pd.Series:
    """One rating per user and movie; the timestamp keeps re-ratings apart. Readable where it
    fits the id rule's length, else a stable digest of the same parts (long user ids)."""
    ids = "ml-" + chunk["userId"] + "-" + chunk["movieId"] + "-" + chunk["timestamp"]
    long = ids.str.len() > MAX_ID_LENGTH
    if long.any():
        ids[long] = ids[long].map(
            lambda text: "ml-" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        )
    return ids


def _split_genres(genres: str) -> list[str]:
    if genres in ("", NO_GENRES):
        return []
    return [genre for genre in genres.split("|") if genre]
