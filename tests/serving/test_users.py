"""GET /users/{id}/profile: activity and genre shares."""


def test_profile_counts_activity_and_genre_shares(api):
    body = api.get("/users/u25/profile").json()
    assert sum(body["events_by_type"].values()) > 0
    assert body["first_activity"] <= body["last_activity"]
    assert 0 < len(body["recent"]) <= 10
    shares = [g["share"] for g in body["top_genres"]]
    assert shares == sorted(shares, reverse=True) and 0 < sum(shares) <= 1.0001
    assert api.get("/users/nobody-at-all/profile").status_code == 404
