"""Offline evaluation: a temporal split, ranking metrics, and one evaluation loop for every model."""
