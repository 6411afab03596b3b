"""Erasing a user: every row and file the project stores that names them, a record that proves
it without revealing the id, and a receipt that says what was searched and what was out of reach.

- `places`: the registry of where user data lives, found from the writers' configuration;
- `rows`: the warehouse (every table with a `user_id` column, dead letters, leftovers on disk);
- `files`: Dagster's stored values and step output, saved models, validation results;
- `mlflow_server`: saved models on a tracking server that serves its artefacts;
- `keys` and `records`: the keyed-hash records (`user_erasures`);
- `everywhere`: one erasure across all of them.
"""
