"""Erasing a user from the files the pipeline keeps, each store read exactly enough not to touch
other users' files (a short id like "1" is part of many files). All of them are derived: the
next run writes them again without the user."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from recsys.events.ids import encode_id, unpack_ids

# The pipeline's stored values (Dagster IO manager files, one per asset) that hold user ids:
# the interaction matrix and the trained model (its training matrix). The erasure tests' byte
# search fails if another asset starts storing user ids without being listed here.
VALUES_WITH_USERS = ("interaction_matrix", "candidate_model")


def erase_stored_values(storage: Path, user_id: str) -> int:
    """Delete the pipeline's stored values that hold the user; returns how many."""
    needle = encode_id(user_id)
    removed = 0
    for name in VALUES_WITH_USERS:
        path = storage / name
        if path.is_file() and contains(path, needle):
            path.unlink()
            removed += 1
    return removed


def holds_user(saved: bytes | Path, user_id: str) -> bool:
    """Whether a saved model (`Recommender.save`'s `.npz`) was trained on the user: its packed
    user ids are read exactly."""
    source = saved if isinstance(saved, Path) else io.BytesIO(saved)
    with np.load(source, allow_pickle=False) as arrays:
        if "user_ids_utf8" not in arrays.files:
            return False
        users = unpack_ids(arrays["user_ids_utf8"], arrays["user_ids_offsets"])
    return user_id in set(users.tolist())


def erase_model_artefacts(artifacts: Path, user_id: str) -> int:
    """Delete local saved models whose user ids include the user; returns how many."""
    removed = 0
    for path in artifacts.rglob("*.npz") if artifacts.is_dir() else ():
        if holds_user(path, user_id):
            path.unlink()
            removed += 1
    return removed


def erase_validation_results(quality_dir: Path, user_id: str) -> int:
    """Delete Great Expectations validation results that list the id among unexpected values
    (as a JSON string), with their Data Docs page. The project's configuration and the site's
    other pages are left alone."""
    needle = json.dumps(user_id).encode()  # quoted: a whole value, not part of one
    removed = 0
    gx = quality_dir / "gx" / "uncommitted"
    for result in (gx / "validations").rglob("*.json") if gx.is_dir() else ():
        if contains(result, needle):
            page = gx / "data_docs" / "local_site" / result.relative_to(gx).with_suffix(".html")
            result.unlink()
            page.unlink(missing_ok=True)
            removed += 1
    return removed


STEP_OUTPUT = (".out", ".err")  # Dagster's captured stdout and stderr of a step


def scrub_lines(folder: Path, user_id: str, suffixes: tuple[str, ...] = STEP_OUTPUT) -> int:
    """Remove the lines that name the user from the text logs under `folder` (step output
    Dagster captured); returns how many lines went. A log is rewritten in place, so a process
    still appending to it keeps its file."""
    needle = encode_id(user_id)
    removed = 0
    for path in folder.rglob("*") if folder.is_dir() else ():
        if path.suffix not in suffixes or not path.is_file() or not contains(path, needle):
            continue
        lines = path.read_bytes().splitlines(keepends=True)
        kept = [line for line in lines if needle not in line]
        with path.open("r+b") as log:
            log.write(b"".join(kept))
            log.truncate()
        removed += len(lines) - len(kept)
    return removed


def contains(path: Path, needle: bytes, chunk: int = 1 << 20) -> bool:
    overlap = len(needle) - 1
    tail = b""
    with path.open("rb") as stream:
        while block := stream.read(chunk):
            if needle in tail + block:
                return True
            tail = block[-overlap:] if overlap else b""
    return False
