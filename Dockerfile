# One image for every project service: the Dagster code location, webserver and daemon, the
# MLflow server and the API (docker-compose.yaml picks the command).
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    OPENBLAS_NUM_THREADS=1 \
    GX_ANALYTICS_ENABLED=False \
    PIP_NO_CACHE_DIR=1
# implicit's wheels use OpenMP.
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/dagster/app
COPY pyproject.toml README.md dagster.yaml workspace.yaml ./
COPY recsys ./recsys
COPY recsys_assets ./recsys_assets
COPY recsys_launcher ./recsys_launcher
COPY serving ./serving
# `prod`: Postgres drivers for Dagster's storage and MLflow's backend store; `k8s`: steps as
# Kubernetes pods with their values in an object store (deploy/helm).
RUN pip install ".[prod,k8s]"
