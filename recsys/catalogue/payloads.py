"""An item as clients send it: the body of `PUT /items/{item_id}` and the value of a message on
the items topic (which adds `item_id` and, to remove, `"deleted": true`).

Text must be storable as it is: valid UTF-8 without control characters (a lone surrogate in
JSON, or a NUL, is refused with the field named, never stored or turned into a 5xx).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from recsys.catalogue.lifecycle import utc
from recsys.events.validity import CONTROL_RANGES, SURROGATES, id_problem

_BAD_TEXT = re.compile(
    "[" + "".join(f"\\u{a:04x}-\\u{b:04x}" for a, b in (*CONTROL_RANGES, SURROGATES)) + "]"
)
# DateTime64 holds 1900-2299; a window end outside it is a client's mistake, not a date.
EARLIEST, LATEST = datetime(1900, 1, 1), datetime(2299, 12, 31)


def _text(value: str) -> str:
    match = _BAD_TEXT.search(value)
    if match:
        code = ord(value[match.start()])
        kind = "an unpaired surrogate" if 0xD800 <= code <= 0xDFFF else "the control character"
        raise ValueError(f"contains {kind} U+{code:04X} at position {match.start()}")
    return value


def _moment(value: datetime | None) -> datetime | None:
    value = utc(value)
    if value is not None and not (
        EARLIEST.replace(tzinfo=value.tzinfo) <= value <= LATEST.replace(tzinfo=value.tzinfo)
    ):
        raise ValueError(f"must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
    return value


# What the items check (recsys.quality.item_suite.check_items) holds every genre to: an item
# accepted here never fails it, so no client can stop a retrain.
MAX_GENRE_LENGTH = 64


def _genre(value: str) -> str:
    problem = id_problem(value)
    if problem:
        raise ValueError(f"genre {problem}")
    return value


def _genres(values: list[str]) -> list[str]:
    repeated = sorted({g for g in values if values.count(g) > 1})
    if repeated:
        raise ValueError(f"genres repeat {repeated}")
    return values


def _title(value: str) -> str:
    if not value.strip():
        raise ValueError("title must have a character that is not a space")
    return value


def _item_id(value: str) -> str:
    problem = id_problem(value)
    if problem:
        raise ValueError(f"item_id {problem}")
    return value


Text = Annotated[str, AfterValidator(_text)]
Title = Annotated[Text, Field(min_length=1, max_length=1000), AfterValidator(_title)]
Genre = Annotated[str, Field(min_length=1, max_length=MAX_GENRE_LENGTH), AfterValidator(_genre)]
Label = Annotated[Text, Field(min_length=1, max_length=200)]
Moment = Annotated[datetime | None, AfterValidator(_moment)]
ItemId = Annotated[str, Field(max_length=1024), AfterValidator(_item_id)]


class ItemFields(BaseModel):
    """What the catalogue knows of an item, as `GET /items/{item_id}` returns it."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    genres: Annotated[list[Genre], AfterValidator(_genres)] = Field(
        default_factory=list, max_length=50
    )
    tags: list[Label] = Field(default_factory=list, max_length=500)
    year: int | None = Field(default=None, ge=1, le=9999)
    available_from: Moment = Field(
        default=None, description="Shown from this moment (ISO 8601; none: already)"
    )
    available_until: Moment = Field(
        default=None, description="Shown until this moment, exclusive (none: no end)"
    )
    hidden: bool = Field(default=False, description="Withdrawn by an editor, kept in history")

    @model_validator(mode="after")
    def _window(self) -> Self:
        start, end = self.available_from, self.available_until
        if start and end and end <= start:
            raise ValueError("available_until must be after available_from")
        return self


class ItemMessage(ItemFields):
    """A message on the items topic: an upsert, or a removal with `"deleted": true` (then only
    `item_id` is needed)."""

    item_id: ItemId
    title: Title | None = None  # type: ignore[assignment]  # not needed to delete
    deleted: bool = False

    @model_validator(mode="after")
    def _title_unless_deleted(self) -> Self:
        if not self.deleted and self.title is None:
            raise ValueError("title is required unless deleted is true")
        return self
