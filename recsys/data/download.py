"""Download a public MovieLens archive by name, verify its checksum and unpack it.

The frozen releases have pinned MD5 sums; the `latest` archives change over time, so their sum is
read from the `.md5` file GroupLens publishes beside each archive. A download is written to a
temporary file, verified, and only then unpacked into place: a failed or corrupted transfer
never leaves a half-dataset behind.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

GROUPLENS_BASE_URL = "https://files.grouplens.org/datasets/movielens/"

# MD5 sums of the frozen releases, as published by GroupLens.
PINNED_MD5: dict[str, str | None] = {
    "ml-100k": "0e33842e24a9c977be4e0107933c0723",
    "ml-1m": "c4d9eecfca2ab87c1945afe126590906",
    "ml-10m": "ce571fd55effeba0271552578f2648bd",
    "ml-20m": "cd245b17a1ae2cc31bb14903e1204af3",
    "ml-25m": "6b51fb2759a8657d3bfcbfc42b592ada",
    "ml-latest-small": None,
    "ml-latest": None,
}
# Only these unpack to the ratings.csv/movies.csv layout the loader reads.
CSV_LAYOUT = {"ml-20m", "ml-25m", "ml-latest-small", "ml-latest"}

Progress = Callable[[int, int | None], None]


class ChecksumError(RuntimeError):
    """A downloaded archive does not match its published checksum."""


def download_movielens(
    name: str,
    datasets_dir: Path,
    base_url: str = GROUPLENS_BASE_URL,
    expected_md5: str | None = None,
    progress: Progress | None = None,
    timeout: float = 60.0,
) -> Path:
    """Return the folder of dataset `name` under `datasets_dir`, downloading it if absent."""
    if name not in PINNED_MD5:
        raise ValueError(f"unknown MovieLens archive {name!r}; known: {', '.join(PINNED_MD5)}")
    if name not in CSV_LAYOUT:
        raise ValueError(f"{name} is not in the ratings.csv/movies.csv layout this loader reads")
    target = datasets_dir / name
    if (target / "ratings.csv").is_file():
        return target
    datasets_dir.mkdir(parents=True, exist_ok=True)
    url = f"{base_url.rstrip('/')}/{name}.zip"
    md5 = expected_md5 or PINNED_MD5[name] or _published_md5(url, timeout)
    with tempfile.TemporaryDirectory(dir=datasets_dir, prefix=f".{name}-") as scratch:
        archive = Path(scratch) / f"{name}.zip"
        actual = _fetch(url, archive, progress, timeout)
        if actual != md5.lower():
            raise ChecksumError(f"{url}: MD5 {actual} does not match the published {md5}")
        unpacked = Path(scratch) / "unpacked"
        with zipfile.ZipFile(archive) as zf:
            _check_member_paths(zf)
            zf.extractall(unpacked)
        source = unpacked / name if (unpacked / name).is_dir() else unpacked
        shutil.move(str(source), target)
    return target


def _published_md5(url: str, timeout: float) -> str:
    with urllib.request.urlopen(f"{url}.md5", timeout=timeout) as response:
        text = response.read().decode("ascii", errors="replace").strip()
    # Either a bare sum or "MD5 (file) = sum" / "sum  file".
    for token in text.replace("=", " ").split():
        if len(token) == 32 and all(c in "0123456789abcdefABCDEF" for c in token):
            return token.lower()
    raise ChecksumError(f"no MD5 sum found in {url}.md5: {text[:80]!r}")


def _fetch(url: str, destination: Path, progress: Progress | None, timeout: float) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with urllib.request.urlopen(url, timeout=timeout) as response, destination.open("wb") as out:
        total = response.headers.get("Content-Length")
        total_bytes = int(total) if total else None
        done = 0
        while block := response.read(1 << 20):
            out.write(block)
            digest.update(block)
            done += len(block)
            if progress:
                progress(done, total_bytes)
    return digest.hexdigest()


def _check_member_paths(zf: zipfile.ZipFile) -> None:
    for member in zf.namelist():
        if member.startswith("/") or ".." in Path(member).parts:
            raise ValueError(f"refusing archive member outside the target folder: {member!r}")
