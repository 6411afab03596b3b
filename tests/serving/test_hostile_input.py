"""Whatever a client sends, the answer is a 4xx naming what is wrong (never a 500), and
nothing is stored unless everything in the request was valid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recsys.settings import Settings
from recsys.warehouse.connection import Warehouse
from serving.app import create_app
from tests.conftest import small_settings

GOOD = {"user_id": "hostile-user", "item_id": "i1", "event_type": "like"}


def _stored(settings: Settings) -> int:
    with Warehouse.from_url(settings.warehouse_url).session() as client:
        return client.query("SELECT count() FROM events").result_rows[0][0]


def _raw(api, body: str, path: str = "/events"):
    return api.post(path, content=body.encode("utf-8", "surrogatepass"),
                    headers={"content-type": "application/json"})  # fmt: skip


def _event(**fields) -> str:
    # ensure_ascii carries lone surrogates as \ud800 escapes, as a JSON client would send them
    return json.dumps({**GOOD, **fields}, ensure_ascii=True, allow_nan=True)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_event(timestamp=0), "timestamp"),  # 1970: used to block every later run
        (_event(timestamp="0001-01-01T00:00:00Z"), "timestamp"),
        (_event(timestamp="9999-12-31T00:00:00Z"), "timestamp"),
        (_event(timestamp=-1e20), "timestamp"),
        (_event(user_id="u0\x00"), "user_id"),  # used to break interaction_matrix for good
        (_event(user_id="u0\x07"), "user_id"),
        (_event(item_id="\ud800"), "item_id"),  # used to be a 500 (the 422 echoed it)
        (_event(event_id="e\udfff1"), "event_id"),
        (_event(user_id=" padded"), "user_id"),  # never trimmed: refused
        (_event(user_id="trailing\u3000"), "user_id"),
        (_event(user_id="x" * 257), "user_id"),
        (_event(user_id=""), "user_id"),
        (_event(user_id=12), "user_id"),
        (_event(value=float("nan")), "value"),  # NaN literal: used to be a 500
        (_event(value=float("inf")), "value"),  # Infinity literal: used to be a 500
        (_event(value=float("-inf")), "value"),
        (_event(event_type="rating", value=5.001), "value"),
        ('{"user_id": "u", "item_id": "i", "event_type": "like", "value": 1e400}', "value"),
        (_event(value=10**400), "value"),
        (_event(event_type="Like"), "event_type"),
        ('{"user_id": "u", "item_id": "i", "event_type": "like"', "body"),
        ("\udcff\udcfe", "body"),  # not UTF-8 at all
        ("[]", "body"),
        (json.dumps({"events": [GOOD, {**GOOD, "user_id": "bad\x00"}]}), "user_id"),
    ],
)
def test_hostile_events_are_422_naming_the_field_and_nothing_is_stored(
    api, api_settings, body, field
):
    before = _stored(api_settings)
    response = _raw(api, body)
    assert response.status_code == 422, response.text
    assert field in response.text
    assert _stored(api_settings) == before


def test_a_batch_names_the_index_of_each_bad_event(api):
    response = api.post("/events", json={"events": [GOOD, {**GOOD, "user_id": "u\x00"}, GOOD]})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "events", 1, "user_id"]


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("post", "/admin/reload", {"authorization": "Bearer é".encode()}, 401),
        ("post", "/admin/reload", {"authorization": b"Bearer \xff\xfe"}, 401),
        ("post", "/admin/reload", {"authorization": b"Bearer s3cret"}, 200),
        ("get", "/recommendations/%ED%A0%80", {}, 422),  # not UTF-8: no id
        ("get", "/recommendations/u%00", {}, 200),
        ("get", "/users/%00/profile", {}, 404),
        ("get", "/items/%FF%FE", {}, 422),
        ("get", "/items/%FF/similar", {}, 422),
        ("get", "/catalog?q=%00%ED%A0%80", {}, 422),
        ("get", "/recommendations/u0?exclude_ids=%00&genres=%ED%A0%80", {}, 422),
        ("get", "/recommendations/u0?diversity=NaN", {}, 422),
        ("get", "/recommendations/u0?k=1e400", {}, 422),
        ("post", "/feedback", {}, 422),
    ],
)
def test_hostile_requests_are_answered_without_a_server_error(api, method, path, headers, status):
    kwargs = {"headers": headers}
    if method == "post" and path == "/feedback":
        kwargs["json"] = {"user_id": "u\x00", "item_id": "i1", "feedback": "up"}
    response = getattr(api, method)(path, **kwargs)
    assert response.status_code == status, response.text


def test_data_docs_are_404_until_a_report_exists(tmp_path: Path):
    with TestClient(create_app(small_settings(tmp_path)), raise_server_exceptions=False) as api:
        response = api.get("/quality/docs/")
        assert response.status_code == 404 and "no data quality report" in response.text
        assert api.get("/quality/docs/index.html").status_code == 404
        assert api.get("/about").json()["data_docs_url"] is None


def test_a_retried_batch_is_stored_once_and_repeats_within_a_batch_say_so(api, api_settings):
    batch = [{**GOOD, "user_id": "retry-user", "event_id": f"r{n}", "item_id": f"i{n % 50}"}
             for n in range(2_000)]  # fmt: skip
    first = api.post("/events", json={"events": batch}).json()
    again = api.post("/events", json={"events": batch}).json()
    assert first["stored"] == again["stored"] == 2_000 and first["repeated_in_batch"] == 0
    with Warehouse.from_url(api_settings.warehouse_url).session() as client:
        final = client.query("SELECT count() FROM events FINAL WHERE user_id = 'retry-user'")
    assert final.result_rows[0][0] == 2_000

    # The same identity twice in a batch: the last one wins. Again later with other content:
    # a conflict (409), and the stored event stays as it was.
    same = {**GOOD, "user_id": "resend-user", "event_id": "x1"}
    body = api.post("/events", json={"events": [same, {**same, "event_type": "dislike"}]}).json()
    assert (body["accepted"], body["stored"], body["repeated_in_batch"]) == (2, 1, 1)
    assert api.post("/events", json={**same, "event_type": "add_to_list"}).status_code == 409
    with Warehouse.from_url(api_settings.warehouse_url).session() as client:
        kept = client.query(
            "SELECT toString(event_type) FROM events FINAL WHERE user_id = 'resend-user'"
        ).result_rows
    assert kept == [("dislike",)]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.text(st.characters(codec=None, categories=None), max_size=20),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip
events = st.fixed_dictionaries(
    {},
    optional={
        key: json_values | st.sampled_from(["like", "rating", "u1", "i1", 0, 4.5, "2025-01-01"])
        for key in ("user_id", "item_id", "event_type", "value", "timestamp", "event_id")
    },
)


@settings(
    max_examples=150, derandomize=True, deadline=None, database=None,
    suppress_health_check=list(HealthCheck),
)  # fmt: skip
@given(body=events | st.fixed_dictionaries({"events": st.lists(events, max_size=3)}) | json_values)
def test_no_json_body_causes_a_server_error(api, body):
    text = json.dumps(body, ensure_ascii=True, allow_nan=True)
    assert _raw(api, text).status_code < 500
