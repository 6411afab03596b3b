# One image for the pipeline (Dagster) and the API.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    OPENBLAS_NUM_THREADS=1 \
    GX_ANALYTICS_ENABLED=False \
    PIP_NO_CACHE_DIR=1
# implicit's wheels use OpenMP.
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md dagster.yaml workspace.yaml ./
COPY recsys ./recsys
COPY recsys_assets ./recsys_assets
COPY serving ./serving
RUN pip install .
