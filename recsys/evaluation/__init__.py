"""Offline evaluation: a temporal split, ranking metrics, one evaluation loop for all models."""
