"""Reading API responses in tests."""


def ids(body: dict) -> list[str]:
    return [item["item_id"] for item in body["items"]]


def genres_of(catalogue: dict[str, dict], item_id: str) -> set[str]:
    return set(catalogue[item_id]["genres"])
