"""RECSYS_SERVING_READS=warehouse answers exactly as the in-memory snapshot does."""

import pytest
from fastapi.testclient import TestClient

from recsys.settings import Settings
from serving.app import create_app

REQUESTS = [
    ("/recommendations/u31", {"k": 10}),
    ("/recommendations/u32", {"k": 5, "genres": "Drama"}),
    ("/recommendations/u33", {"k": 5, "diversity": 0.5, "explain": True}),
    ("/recommendations/nobody-like-this", {"k": 3}),
    ("/items/i7", {}),
    ("/items/i7/similar", {"k": 6}),
    ("/items/i8/similar", {"k": 6, "exclude_genres": "Drama"}),
    ("/items/nope", {}),
    ("/catalog", {"q": "the", "limit": 7, "offset": 2}),
    ("/catalog", {"genre": "Comedy", "limit": 5}),
    ("/trending", {"k": 5, "genres": "Drama"}),
]


@pytest.fixture(scope="module")
def answers(published: Settings) -> dict[str, list]:
    results = {}
    for reads in ("memory", "warehouse"):
        # The shared published home stays as the pipeline left it: no impressions written.
        settings = published.model_copy(
            update={"serving_reads": reads, "api_log_impressions": False}
        )
        with TestClient(create_app(settings)) as client:
            results[reads] = [
                (r.status_code, _without_request_id(r.json()))
                for r in (client.get(p, params=q) for p, q in REQUESTS)
            ]
    return results


def _without_request_id(body):
    """Each list gets its own request_id; everything else must match."""
    if isinstance(body, dict):
        body.pop("request_id", None)
    return body


@pytest.mark.parametrize("index", range(len(REQUESTS)), ids=[p for p, _ in REQUESTS])
def test_warehouse_reads_match_memory(answers, index):
    assert answers["warehouse"][index] == answers["memory"][index]


def test_the_comparison_covers_real_answers(answers):
    statuses = [status for status, _ in answers["memory"]]
    assert statuses.count(200) == len(REQUESTS) - 1 and 404 in statuses
    catalog = answers["memory"][8][1]
    assert catalog["total"] > 0 and catalog["items"]
