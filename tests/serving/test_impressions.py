"""Every list the API answers is recorded as shown, with its request id, positions, surface and
version; events carry the list's request id; an erased user's impressions go with them."""

from __future__ import annotations

ADMIN = {"Authorization": "Bearer s3cret"}


def recorded(api, request_ids: list[str]) -> dict[str, tuple]:
    """The impressions rows of these requests, once the log has written what it queued."""
    state = api.app.state.serving
    state.online.impressions.flush()
    with state.warehouse.session() as client:
        rows = client.query(
            "SELECT request_id, user_id, surface, items, model_version, experiment, variant "
            "FROM impressions WHERE request_id IN {ids:Array(String)}",
            parameters={"ids": request_ids},
        ).result_rows
    return {row[0]: row[1:] for row in rows}


def test_every_list_is_recorded_as_shown(api, facts):
    bodies = [
        ("recommendations", facts["user"], api.get(f"/recommendations/{facts['user']}").json()),
        ("recommendations", "someone-new", api.get("/recommendations/someone-new?k=4").json()),
        (
            "similar",
            facts["user"],
            api.get(f"/items/{facts['item']}/similar", params={"user_id": facts["user"]}).json(),
        ),
        ("trending", "", api.get("/trending", params={"k": 7}).json()),
    ]
    rows = recorded(api, [body["request_id"] for _, _, body in bodies])
    shown = 0
    for surface, user, body in bodies:
        items = [item["item_id"] for item in body["items"]]
        assert [item["position"] for item in body["items"]] == list(range(1, len(items) + 1))
        assert rows[body["request_id"]] == (
            user, surface, items, facts["version"], "", ""
        )  # fmt: skip
        shown += len(items)
    assert (
        sum(len(row[2]) for row in rows.values())
        == shown
        == 10 + 4 + len(bodies[2][2]["items"]) + 7
    )
    assert len({body["request_id"] for _, _, body in bodies}) == len(bodies)


def test_events_carry_the_request_id_of_their_list(api, facts):
    body = api.get(f"/recommendations/{facts['other_user']}").json()
    item = body["items"][0]["item_id"]
    event = {
        "user_id": facts["other_user"],
        "item_id": item,
        "event_type": "view_start",
        "request_id": body["request_id"],
        "event_id": "with-request-id",
    }
    assert api.post("/events", json=event).status_code == 200
    bad = api.post("/events", json={**event, "request_id": "no spaces\n"})
    assert bad.status_code == 422 and "request_id" in bad.text
    state = api.app.state.serving
    with state.warehouse.session() as client:
        stored = client.query(
            "SELECT request_id FROM events WHERE event_id = 'with-request-id'"
        ).result_rows
    assert stored == [(body["request_id"],)]


def test_an_erased_users_impressions_go_with_them(api):
    user = "shown-then-erased"
    ids = [api.get(f"/recommendations/{user}").json()["request_id"] for _ in range(3)]
    assert len(recorded(api, ids)) == 3
    assert api.delete(f"/users/{user}", headers=ADMIN).status_code == 200
    assert recorded(api, ids) == {}
