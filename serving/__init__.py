"""The REST API: serves the published model version from memory and accepts new events."""
