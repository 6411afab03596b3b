"""GET /model: the published version against popularity."""


def test_model_reports_the_published_version_against_popularity(api, facts):
    body = api.get("/model").json()
    assert body["model_version"] == facts["version"]
    assert body["algorithm"] in {"als", "ease", "item_knn", "content_tfidf", "hybrid"}
    assert body["params"]
    for metrics in (body["metrics"], body["baseline_metrics"]["popularity"]):
        assert set(metrics) == {
            "ndcg_at_10",
            "precision_at_10",
            "recall_at_10",
            "map_at_10",
            "coverage",
        }
        assert all(0 <= value <= 1 for value in metrics.values())
    assert body["metrics"]["ndcg_at_10"] > body["baseline_metrics"]["popularity"]["ndcg_at_10"]
