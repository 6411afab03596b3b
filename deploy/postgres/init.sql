-- One Postgres for Dagster's storage and MLflow's backend store: two databases.
CREATE DATABASE mlflow;
