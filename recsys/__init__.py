"""Core of the recommender pipeline: settings, warehouse access, data sources and algorithms.

Nothing here imports Dagster or FastAPI; `recsys_assets` and `serving` are thin adapters over it.
"""
