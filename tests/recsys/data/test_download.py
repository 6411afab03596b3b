import hashlib
import zipfile
from pathlib import Path

import pytest

from recsys.data.download import ChecksumError, download_movielens
from tests.recsys.data.test_movielens import write_tiny_movielens


def _publish_archive(tmp_path: Path, name: str) -> tuple[str, str]:
    """Zip a tiny MovieLens folder as GroupLens lays it out; return (base URL, md5)."""
    source = write_tiny_movielens(tmp_path / "src" / name)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    archive = mirror / f"{name}.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for file in source.iterdir():
            zf.write(file, f"{name}/{file.name}")
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    (mirror / f"{name}.zip.md5").write_text(f"MD5 ({name}.zip) = {md5}\n")
    return mirror.as_uri(), md5


def test_downloads_verifies_against_published_md5_and_unpacks(tmp_path: Path):
    base_url, _ = _publish_archive(tmp_path, "ml-latest-small")
    seen = []
    folder = download_movielens(
        "ml-latest-small",
        tmp_path / "datasets",
        base_url=base_url,
        progress=lambda done, total: seen.append(done),
    )
    assert folder == tmp_path / "datasets" / "ml-latest-small"
    assert (folder / "ratings.csv").is_file() and (folder / "movies.csv").is_file()
    assert seen and seen[-1] == (Path(base_url[7:]) / "ml-latest-small.zip").stat().st_size
    # Already there: no second download (the mirror could be gone).
    assert download_movielens("ml-latest-small", tmp_path / "datasets", base_url="file:///gone")


def test_a_corrupted_download_leaves_nothing_behind(tmp_path: Path):
    base_url, _ = _publish_archive(tmp_path, "ml-latest-small")
    with pytest.raises(ChecksumError, match="does not match"):
        download_movielens(
            "ml-latest-small", tmp_path / "datasets", base_url=base_url, expected_md5="0" * 32
        )
    assert list((tmp_path / "datasets").iterdir()) == []


def test_pinned_checksum_is_used_for_frozen_releases(tmp_path: Path):
    base_url, _ = _publish_archive(tmp_path, "ml-25m")  # not the real archive: must be refused
    with pytest.raises(ChecksumError, match="6b51fb2759a8657d3bfcbfc42b592ada"):
        download_movielens("ml-25m", tmp_path / "datasets", base_url=base_url)


def test_unknown_archive_names_are_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="unknown MovieLens archive"):
        download_movielens("ml-999", tmp_path)
