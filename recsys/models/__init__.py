"""Recommendation models: plain functions and small classes over sparse matrices."""
