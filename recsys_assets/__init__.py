"""Dagster code location: thin asset adapters over the plain `recsys` modules."""
