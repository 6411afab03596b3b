"""Request and response bodies of the REST API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
)

from recsys.events.payloads import Id, RequestId
from serving.held.catalogue_view import ItemInfo


def in_utc(moment: datetime) -> datetime:
    """The warehouse keeps UTC without saying so; an answer always says it (RFC 3339)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# Every time in an answer: with its offset, as OpenAPI's `date-time` requires.
UtcTime = Annotated[datetime, AfterValidator(in_utc)]


class Problem(BaseModel):
    """Every error but a 422 (whose body is FastAPI's validation format)."""

    detail: str = Field(description="What is wrong, and what to do about it")


PROBLEMS: dict[int | str, dict] = {
    status: {"model": Problem, "description": what}
    for status, what in {
        401: "The admin token is missing or wrong (admin routes)",
        403: "Admin routes are disabled: no admin token is configured",
        404: "The user, item or experiment is unknown",
        409: "A conflict: an event_id stored with other content, an experiment held elsewhere",
        413: "The request body is too large",
        503: "The warehouse is unavailable or no model is published yet; retry later",
    }.items()
}


class EventsAccepted(BaseModel):
    accepted: int = Field(description="Events in the request, all valid")
    stored: int = Field(description="Distinct events written: (user_id, event_id) identities")
    repeated_in_batch: int = Field(
        default=0,
        description="Events that repeated an identity earlier in the same batch (the last wins)",
    )
    event_ids: list[str] = Field(description="Each event's id, in the order sent")


class Because(BaseModel):
    item_id: str
    title: str
    share: float = Field(description="Share of this recommendation's score from this item")


class Lift(BaseModel):
    feature: str = Field(description="A retriever's score or rank, or a user/item/cross feature")
    lift: float = Field(description="How much it raised the ranker's score")


class Explanation(BaseModel):
    reason: str = Field(
        description="e.g. 'because you watched X', 'matches your genres', 'trending'"
    )
    because: list[Because] = Field(description="The user's items that contributed most")
    lifted_by: list[Lift] | None = Field(
        default=None,
        description="A learned ranker's lists: the features that raised the item most "
        "(e.g. ease_score, x_genre_share_max), from its per-feature contributions",
    )


class ScoredItem(BaseModel):
    item_id: str
    score: float
    source: str
    position: int = Field(ge=1, description="Place in the list, from 1 (as recorded shown)")
    explanation: Explanation | None = Field(default=None, description="With explain=true")


def scored_items(items) -> list[ScoredItem]:
    """(item, score, source) entries as the response lists them, with their positions."""
    return [
        ScoredItem(item_id=i, score=s, source=src, position=n)
        for n, (i, s, src) in enumerate(items, start=1)
    ]


REQUEST_ID = Field(
    description="This list's id: send it as `request_id` with events about its items, so they "
    "are credited to it"
)


class Recommendations(BaseModel):
    request_id: str = REQUEST_ID
    user_id: str
    model_version: str
    experiment: str | None = Field(default=None, description="The experiment the user is in")
    variant: str | None = Field(default=None, description="The user's variant in it")
    source: Literal["precomputed", "fold_in", "trending"] = Field(
        description="precomputed: the published list; fold_in: scored now from the user's "
        "events newer than the model; trending: nothing personal yet"
    )
    algorithm: str = Field(description="The published model's family")
    items: list[ScoredItem]


class SimilarItems(BaseModel):
    request_id: str = REQUEST_ID
    item_id: str
    model_version: str
    items: list[ScoredItem]


class Trending(BaseModel):
    request_id: str = REQUEST_ID
    model_version: str
    window: str
    items: list[ScoredItem]


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    model_version: str | None = None
    detail: str | None = None


class ModelMetrics(BaseModel):
    ndcg_at_10: float | None = None
    precision_at_10: float | None = None
    recall_at_10: float | None = None
    map_at_10: float | None = None
    coverage: float | None = Field(default=None, description="Catalogue coverage of top-10 lists")


class ModelInfo(BaseModel):
    model_version: str
    trained_at: UtcTime
    published_at: UtcTime | None
    algorithm: str
    params: dict[str, object]
    metrics: ModelMetrics
    baseline_metrics: dict[str, ModelMetrics]
    evaluation: str = Field(
        default="", description="The offline protocol the metrics come from (split, relevance)"
    )
    decision: str


class Reloaded(BaseModel):
    model_version: str | None = Field(description="The version served now")
    reloaded: bool = Field(description="Whether this call swapped in a newer version")


class Item(BaseModel):
    """A catalogue item; `PUT /items/{item_id}` takes the same fields (without `item_id`)."""

    item_id: str
    title: str
    genres: list[str]
    tags: list[str]
    year: int | None
    available_from: UtcTime | None = Field(description="Shown from (none: already)")
    available_until: UtcTime | None = Field(description="Shown until, exclusive (none: no end)")
    hidden: bool

    @classmethod
    def of(cls, info: ItemInfo) -> Item:
        return cls(
            item_id=info.item_id,
            title=info.title,
            genres=list(info.genres),
            tags=list(info.tags),
            year=info.year,
            available_from=info.life.available_from,
            available_until=info.life.available_until,
            hidden=info.life.hidden,
        )


class UserErased(BaseModel):
    """The same answer for a user the system knew and for one it never did."""

    user_id: str
    erased: bool = Field(description="Always true: every place below was searched and cleaned")
    receipt: str = Field(
        description="The erasure record's keyed hash of the id (HMAC-SHA256 under the key "
        "`key_id` names): whoever holds the key finds the record by it; nobody else can"
    )
    key_id: str = Field(description="Which erasure key made the receipt (not the key)")
    searched: list[str] = Field(description="Every place searched and cleaned")
    not_reached: list[str] = Field(
        description="Places this process cannot reach, and what to do about them; empty: "
        "every place user data is stored was searched and cleaned"
    )
    operator_must: list[str] = Field(
        default=[
            "Kafka: the events topic keeps the user's messages until its retention passes "
            "(or compact by key); consumers never re-read committed offsets",
            "Backups and copies of the warehouse, Dagster and MLflow stores taken before now",
            "Logs your process supervisor keeps of the services' output (access logs name "
            "user ids in request paths)",
            "The dataset files RECSYS_DATASET names, if you keep them (they are loaded once "
            "and never read again)",
        ],
        description="What the project cannot erase itself",
    )


class ItemDeleted(BaseModel):
    item_id: str
    deleted: bool = Field(description="True: a tombstone now; it stays in history, never shown")


class ItemBatch(BaseModel):
    items: list[Item] = Field(description="The known items, in the order asked")
    missing: list[str] = Field(description="Ids the catalogue does not have")


class About(BaseModel):
    """Where the rest of the system is, for the web page's links."""

    model_version: str | None
    dagster_url: str
    mlflow_url: str
    data_docs_url: str | None = Field(description="The Data Docs site, once a check has run")
    example_users: list[str] = Field(description="A few users with precomputed lists")
    genres: list[str] = Field(description="The catalogue's genres, for filters")


class CatalogPage(BaseModel):
    total: int = Field(description="Items matching the query, over all pages")
    offset: int
    limit: int
    items: list[Item]


class ActivityItem(BaseModel):
    item_id: str
    title: str | None
    event_type: str
    value: float | None
    timestamp: UtcTime


class GenreShare(BaseModel):
    genre: str
    share: float = Field(description="Share of the user's positive signal on this genre")


class Profile(BaseModel):
    user_id: str
    events_by_type: dict[str, int]
    first_activity: UtcTime
    last_activity: UtcTime
    recent: list[ActivityItem]
    top_genres: list[GenreShare]


class FeedbackIn(BaseModel):
    """Thumbs up or down on a recommended item; stored as a like or a dislike event."""

    model_config = ConfigDict(extra="forbid")

    user_id: Id
    item_id: Id
    feedback: Literal["up", "down"]
    event_id: Id | None = Field(default=None, description="Give one to make retries idempotent")
    request_id: RequestId | None = Field(
        default=None, description="The request_id of the list the item was shown in"
    )
