"""GET /items: one item, several at once, similar items with filters."""

from tests.serving.responses import genres_of, ids


def test_similar_items_exclude_the_item_and_unknown_items_are_404(api, facts):
    body = api.get(f"/items/{facts['item']}/similar", params={"k": 4}).json()
    assert len(body["items"]) == 4 and facts["item"] not in {i["item_id"] for i in body["items"]}
    assert {i["source"] for i in body["items"]} <= {facts["algorithm"], "content_tfidf"}
    missing = api.get("/items/no-such-item/similar")
    assert missing.status_code == 404 and "no-such-item" in missing.json()["detail"]


def test_similar_items_take_the_same_filters(api, catalogue):
    item = next(iter(catalogue))
    genre = catalogue[item]["genres"][0]
    body = api.get(f"/items/{item}/similar", params={"k": 8, "exclude_genres": genre}).json()
    assert len(body["items"]) == 8 and item not in ids(body)
    assert not any(genre in genres_of(catalogue, i) for i in ids(body))


def test_several_items_at_once_in_the_order_asked(api, catalogue):
    wanted = list(catalogue)[:3]
    body = api.get("/items", params={"ids": [wanted[2], f"{wanted[0]},nope", wanted[1]]}).json()
    assert [item["item_id"] for item in body["items"]] == [wanted[2], wanted[0], wanted[1]]
    assert body["items"][0]["title"] == catalogue[wanted[2]]["title"]
    assert body["missing"] == ["nope"]
    listed = api.get("/items", params={"ids": [f"x{n}" for n in range(201)]})
    assert listed.status_code == 422 and "200" in listed.text
    joined = api.get(
        "/items",
        params={"ids": [",".join(f"x{n}" for n in range(i, i + 50)) for i in range(0, 201, 50)]},
    )
    assert joined.status_code == 422 and "at most 200 ids" in joined.text
    assert api.get("/items").status_code == 422  # ids are required
