"""Export assets invoked directly on a real embedded warehouse, with the run's own inputs."""

from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from recsys.settings import DEFAULT_EVENT_WEIGHTS
from recsys.warehouse import source_tables, versions
from recsys_assets.assets.models import TrainedModel
from recsys_assets.assets.publishing import trending_items
from recsys_assets.resources import QualityResource, WarehouseResource
from recsys_assets.run_config import TrendingConfig

T0 = pd.Timestamp("2024-01-01", tz="UTC")


def _event(n: int, user: str, item: str, event_type: str) -> dict:
    return {"event_id": f"e{n}", "user_id": user, "item_id": item, "event_type": event_type,
            "value": None, "timestamp": T0, "source": "test"}  # fmt: skip


def test_trending_weighs_events_as_this_runs_interactions_did(tmp_path):
    # Five users started "viewed"; one liked "liked". By the default weights "viewed" trends
    # (5 x 1.0 > 4.0); a run that counts only likes must trend "liked".
    url = f"chdb://{tmp_path / 'warehouse'}"
    store = WarehouseResource(url=url)
    events = [_event(n, f"u{n}", "viewed", "view_start") for n in range(5)]
    events.append(_event(9, "u9", "liked", "like"))
    items = pd.DataFrame({"item_id": ["viewed", "liked"], "title": "t", "genres": [[]] * 2,
                          "tags": [[]] * 2, "year": None})  # fmt: skip
    with store.get().session() as client:
        source_tables.insert_items(client, items)
        source_tables.insert_events(client, pd.DataFrame(events))
    likes_only = {event_type: 0.0 for event_type in DEFAULT_EVENT_WEIGHTS} | {"like": 1.0}
    top = {}
    for name, weights in (("default", DEFAULT_EVENT_WEIGHTS), ("likes_only", likes_only)):
        version = versions.ModelVersion(f"v-{name}", "als", datetime.now(UTC), datetime.now(UTC))
        trending_items(
            dg.build_asset_context(),
            config=TrendingConfig(half_life_days=7.0),
            candidate_model=TrainedModel(version, model=None, event_weights=weights),
            warehouse=store,
            quality=QualityResource(docs_dir=str(tmp_path / "docs")),
            defaults=None,
        )
        with store.get().session() as client:
            top[name] = client.query(
                "SELECT item_id FROM trending_items WHERE model_version = {v:String} "
                "AND window = 'decayed' ORDER BY rank LIMIT 1",
                parameters={"v": version.model_version},
            ).result_rows[0][0]
    assert top == {"default": "viewed", "likes_only": "liked"}
