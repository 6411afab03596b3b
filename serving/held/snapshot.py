"""A served model version: its record, how to read its lists, its trending lists and fold-in.

A snapshot is immutable once built; the API swaps the whole object when a new version is
published, so every request reads exactly one version. The catalogue is not part of it
(`serving.held.catalogue_view`): items change while a version serves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime

# Families with a second stage register how to read their bundles when their request-time module
# is imported: the API imports the built-in ones here.
import recsys.ranking.request_time  # noqa: F401
from recsys.foldin import FoldInModel, FoldInSpec, second_stage
from recsys.foldin.content_vocabulary import ContentVocabulary
from recsys.foldin.new_items import NewItems
from recsys.foldin.second_stage import SecondStage
from recsys.warehouse import bundles, item_reads, version_reads, versions
from recsys.warehouse.connection import Warehouse
from recsys.warehouse.item_model import read_content_terms, read_item_model
from recsys.warehouse.version_reads import ScoredItem
from serving.held.served_lists import VersionReads, load_reads

DEFAULT_WINDOW = "decayed"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    version: versions.ModelVersion
    reads: VersionReads = field(repr=False)
    trending_by_window: dict[str, list[ScoredItem]] = field(repr=False)
    # Request-time scoring for users with newer events; None for versions published without it.
    fold_in: FoldInModel | None = field(default=None, repr=False)
    # The version's content space, and the items added since it was trained placed in it.
    vocabulary: ContentVocabulary | None = field(default=None, repr=False)
    new_items: NewItems = field(default_factory=NewItems, repr=False)
    # A version's second stage for fold-in (the ranker's retrievers, features and booster).
    second_stage: SecondStage | None = field(default=None, repr=False)
    # Do the version's precomputed lists carry lifts, for explanations (`recsys.lifts`)?
    explains_itself: bool = False

    @property
    def model_version(self) -> str:
        return self.version.model_version

    @property
    def algorithm(self) -> str:
        return self.version.algorithm

    @property
    def trained_at(self) -> datetime:
        return self.version.trained_at

    @property
    def published_at(self) -> datetime | None:
        return self.version.published_at

    @property
    def events_ingested_until(self) -> datetime:
        return self.version.events_ingested_until

    @property
    def trending(self) -> list[ScoredItem]:
        return self.trending_by_window.get(DEFAULT_WINDOW, [])

    def with_new_items(self, changed: dict[str, tuple | None]) -> Snapshot:
        """This snapshot with catalogue rows of items it lacks replaced (None: no longer new).
        Items the version knows are ignored: the version places them itself."""
        if self.fold_in is None or self.vocabulary is None:
            return self
        known = self.fold_in.column_of
        unknown = {i: row for i, row in changed.items() if i not in known}
        if not unknown:
            return self
        items = self.fold_in.items
        new_items = self.new_items.with_rows(
            unknown, self.vocabulary, items.item_ids, items.content
        )
        return replace(self, new_items=new_items)


def load_snapshot(warehouse: Warehouse, version: versions.ModelVersion, reads: str) -> Snapshot:
    """Everything serving `version` needs, read as `RECSYS_SERVING_READS` says."""
    with warehouse.session() as client:
        trending = version_reads.trending_lists(client, version.model_version)
        item_side = read_item_model(client, version.model_version) if version.fold_in else None
        vocabulary = read_content_terms(client, version.model_version) if item_side else None
        packed = bundles.read_all(client, version.model_version) if item_side else {}
        added = (
            item_reads.rows_new_to(client, version.model_version, version.events_ingested_until)
            if vocabulary
            else []
        )
    snapshot = Snapshot(
        version=version,
        reads=load_reads(warehouse, version.model_version, reads),
        trending_by_window=trending,
        fold_in=FoldInModel(FoldInSpec.from_json(version.fold_in), item_side)
        if item_side
        else None,
        vocabulary=vocabulary,
        second_stage=second_stage.load(packed, item_side.item_ids) if packed else None,
        explains_itself=bool(version.fold_in)
        and FoldInSpec.from_json(version.fold_in).explains_itself,
    )
    return snapshot.with_new_items({row[0]: row for row in added})
