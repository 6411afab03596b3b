import dagster as dg

from recsys_assets.definitions import defs

GROUPS = {"ingest", "features", "models", "exports", "experiments"}
PIPELINE_ASSETS = {
    "items",
    "events",
    "quarantined_events",
    "interactions",
    "interaction_matrix",
    "model_selection",
    "candidate_model",
    "retrieval",
    "ranker",
    "content_model",
    "user_recommendations",
    "similar_items",
    "trending_items",
    "item_model",
    "published_model",
}
EXPECTED_ASSETS = PIPELINE_ASSETS | {"experiment_results"}


def test_code_location_loads_with_every_asset_grouped_and_described():
    repository = defs.get_repository_def()
    graph = repository.asset_graph
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys == EXPECTED_ASSETS
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name in GROUPS, key
        assert node.description, key


def test_full_pipeline_job_selects_every_pipeline_asset_and_runs_in_process():
    job = defs.resolve_job_def("full_pipeline")
    assert {key.to_user_string() for key in job.asset_layer.selected_asset_keys} == PIPELINE_ASSETS
    assert job.executor_def is dg.in_process_executor
    assert job.tags.get("recsys/retrain") == "true"


def test_experiment_results_run_apart_hourly_and_the_registry_follows_roles():
    job = defs.resolve_job_def("compute_experiment_results")
    assert {key.to_user_string() for key in job.asset_layer.selected_asset_keys} == {
        "experiment_results"
    }
    schedule = defs.resolve_schedule_def("hourly_experiment_results")
    assert schedule.cron_schedule == "0 * * * *"
    assert schedule.job_name == "compute_experiment_results"
    assert defs.resolve_sensor_def("registry_follows_roles")


def test_the_code_location_loads_whole_as_a_code_server_loads_it():
    """`dagster api grpc` (the production code location) loads every definition at once, which
    also checks that no job shares a name with an op of another job."""
    defs.get_repository_def().load_all_definitions()
