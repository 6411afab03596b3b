"""Ids as exact strings everywhere: two different strings are two different users or items.

pandas' string hashing (`pd.unique`, `pd.factorize`, `pd.util.hash_array`) stops at a NUL
character and numpy's fixed-width strings (`astype(str)`) drop trailing NULs, so "u0" and
"u0\\x00" would fold into one id. Everything that codes, stores or exports ids goes through
here instead: Python dicts and `pd.Index` lookups (which compare whole objects), Arrow arrays
built from the objects, and UTF-8 bytes with offsets in `.npz` files. Ids read from or
written to ClickHouse as bytes go through `decode_id` / `encode_id` / `original_bytes`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa


class IdCodes:
    """Dense integer codes for ids, in first-seen order."""

    def __init__(self) -> None:
        self._index = pd.Index([], dtype=object)

    def __len__(self) -> int:
        return len(self._index)

    def encode(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=object)
        codes = self._index.get_indexer(ids)
        new = codes < 0
        if new.any():
            # dict keeps first-seen order and compares whole strings (pd.unique would not).
            fresh = list(dict.fromkeys(ids[new].tolist()))
            self._index = self._index.append(pd.Index(fresh, dtype=object))
            codes[new] = self._index.get_indexer(ids[new])
        if (codes < 0).any():  # cannot happen with exact lookups; never code silently wrong
            raise ValueError("ids could not be coded exactly")
        return codes.astype(np.int32)

    def ids(self) -> np.ndarray:
        return np.asarray(self._index, dtype=object)


def id_array(ids: np.ndarray) -> pa.Array:
    """Ids as an Arrow string array, every character kept."""
    values = np.asarray(ids, dtype=object)
    if len(values) and not all(isinstance(v, str) for v in values[: min(len(values), 16)]):
        values = np.array([str(v) for v in values], dtype=object)
    return pa.array(values, pa.string())


def pack_ids(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(UTF-8 bytes, offsets): ids in plain arrays for `.npz` files saved without pickles."""
    encoded = [str(v).encode("utf-8", "surrogatepass") for v in np.asarray(ids, dtype=object)]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets


def unpack_ids(data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    raw = data.tobytes()
    return np.array(
        [
            raw[offsets[i] : offsets[i + 1]].decode("utf-8", "surrogatepass")
            for i in range(len(offsets) - 1)
        ],
        dtype=object,
    )


def decode_id(raw: bytes) -> str:
    """Stored id bytes as text, exactly: invalid UTF-8 bytes become lone surrogates (U+DC80 to
    U+DCFF), which the rule rejects, instead of clickhouse-connect's default hex rendering
    (which could equal another, valid id)."""
    return raw.decode("utf-8", "surrogateescape")


def encode_id(text: str) -> bytes:
    """Text as bytes to store, every character kept: a lone surrogate becomes an (invalid)
    three-byte sequence, never bytes that could read as another, valid character."""
    return text.encode("utf-8", "surrogatepass")


def original_bytes(text: str) -> bytes:
    """The bytes text was decoded from with `surrogateescape` (a loader reading a file, or
    `decode_id`): what to keep when quarantining it. Other lone surrogates as `encode_id`."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return encode_id(text)
