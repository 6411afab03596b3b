"""GET /catalog: title search, genre filter, pages."""


def test_catalog_search_pages_and_item_lookup(api, catalogue):
    some = next(iter(catalogue.values()))
    word = some["title"].split()[0].lower()
    page = api.get("/catalog", params={"q": word.upper(), "limit": 3}).json()
    assert page["total"] >= 1 and len(page["items"]) <= 3
    assert all(word in item["title"].lower() for item in page["items"])
    second = api.get("/catalog", params={"q": word, "limit": 3, "offset": 3}).json()
    assert not {i["item_id"] for i in page["items"]} & {i["item_id"] for i in second["items"]}
    genre = some["genres"][0]
    by_genre = api.get("/catalog", params={"genre": genre, "limit": 100}).json()
    assert all(genre in item["genres"] for item in by_genre["items"])
    assert api.get(f"/items/{some['item_id']}").json() == some
    assert api.get("/items/nope").status_code == 404
