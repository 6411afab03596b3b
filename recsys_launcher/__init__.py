"""The process launcher: `python -m recsys up | materialize | consume`. It creates the stores,
starts the Dagster, MLflow and API processes and runs the pipeline, so it talks to Dagster; the
`recsys` core it launches never does."""
