"""One definition of a valid event, in the three forms the system needs.

- `event_problem`: one event, in Python (the API answers 422 naming the field);
- `invalid_fields`: a whole DataFrame, vectorised (bulk loaders, and any other writer);
- `invalid_field_sql`: a ClickHouse expression over stored rows (what training leaves out and
  the quarantine lists);
and `recsys.quality.suites.check_events` builds the Great Expectations form from the same
constants. A property-based test runs generated rows through all four and asserts they agree.

The rule, field by field, checked in this order (the first failing field is the reason):
- `event_id`, `user_id`, `item_id`: 1 to 256 characters of valid UTF-8 (no unpaired
  surrogates), no control characters (C0, DEL, C1), and no space character (Unicode `Zs`) at
  either end. Nothing is stripped or normalised: what a client sends is the id, byte for byte.
  Invisible format marks (RTL marks, zero-width joiners) and any other character are allowed.
- `event_type`: one of `recsys.events.vocabulary.EVENT_TYPES`.
- `value`: required for ratings; when present a finite number within its type's range, as
  stored (float32).
- `timestamp`: in whole milliseconds (as stored), not before the quality epoch and not more than
  `FUTURE_TOLERANCE` after the moment the event was accepted (for a stored row, `ingested_at`).
"""

from __future__ import annotations

import math
import re
import struct
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from recsys.events.vocabulary import EVENT_TYPES, VALUE_RANGES

ID_FIELDS: tuple[str, ...] = ("event_id", "user_id", "item_id")
FIELDS: tuple[str, ...] = (*ID_FIELDS, "event_type", "value", "timestamp")
MAX_ID_LENGTH = 256  # characters (code points)
# Clocks drift: an event stamped a little ahead of the server is accepted, more is a bug.
FUTURE_TOLERANCE = timedelta(minutes=5)
TOLERANCE_MS = FUTURE_TOLERANCE // timedelta(milliseconds=1)
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# RECSYS_QUALITY_EPOCH's default: no real platform has events from before this.
DEFAULT_EPOCH = datetime(1995, 1, 1, tzinfo=UTC)

# C0 controls, DEL and C1 controls; surrogates only exist in Python strings (a lone "\ud800"
# in JSON), never in valid UTF-8, and are how invalid bytes read back
# (see `recsys.events.ids.decode_id`).
CONTROL_RANGES: tuple[tuple[int, int], ...] = ((0x00, 0x1F), (0x7F, 0x9F))
SURROGATES = (0xD800, 0xDFFF)
# Unicode's space separators (category Zs; a test checks this against unicodedata).
SPACE_SEPARATORS: tuple[int, ...] = (
    0x0020, 0x00A0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000,
)  # fmt: skip
_SPACES = frozenset(map(chr, SPACE_SEPARATORS))


def _py_class(ranges: tuple[tuple[int, int], ...]) -> str:
    return "".join(f"\\u{low:04x}-\\u{high:04x}" for low, high in ranges)


def _re2_class(ranges: tuple[tuple[int, int], ...]) -> str:
    return "".join(f"\\x{{{low:x}}}-\\x{{{high:x}}}" for low, high in ranges)


_SPACE_RANGES = tuple((c, c) for c in SPACE_SEPARATORS)
# Python `re` (pandas, Great Expectations): a match means the id is malformed.
BAD_ID_PATTERN = (
    f"[{_py_class((*CONTROL_RANGES, SURROGATES))}]"
    f"|^[{_py_class(_SPACE_RANGES)}]|[{_py_class(_SPACE_RANGES)}]\\Z"
)
_BAD_ID = re.compile(BAD_ID_PATTERN)
# RE2 (ClickHouse `match`), on valid UTF-8 only: the same characters.
_RE2_BAD_ID = (
    f"[{_re2_class(CONTROL_RANGES)}]|^[{_re2_class(_SPACE_RANGES)}]|[{_re2_class(_SPACE_RANGES)}]$"
)


def id_problem(value: object) -> str | None:
    """Why `value` is not a valid id, or None."""
    if not isinstance(value, str):
        return "must be a string"
    if not value:
        return "must not be empty"
    if len(value) > MAX_ID_LENGTH:
        return f"is {len(value):,} characters long; the limit is {MAX_ID_LENGTH}"
    match = _BAD_ID.search(value)
    if match is None:
        return None
    char = value[match.start()] if value[match.start()] not in _SPACES else value[match.end() - 1]
    code = ord(char)
    if SURROGATES[0] <= code <= SURROGATES[1]:
        return f"contains an unpaired surrogate U+{code:04X} (not valid UTF-8)"
    if char in _SPACES:
        return f"starts or ends with a space character (U+{code:04X}); ids are never trimmed"
    return f"contains the control character U+{code:04X} at position {match.start()}"


def value_problem(event_type: str, value: float | None) -> str | None:
    """Why `value` is not valid for `event_type` (a known type), or None."""
    if value is None:
        return "is required for a rating (the stars, 0.5 to 5)" if event_type == "rating" else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "must be a number"
    stored = _as_float32(value)
    if not math.isfinite(stored):
        return f"must be a finite number (got {value!r})"
    low, high = VALUE_RANGES[event_type]
    if not low <= stored <= high:
        return f"{value} is outside [{low}, {high}] for event_type {event_type}"
    return None


def _as_float32(value: float) -> float:
    """`value` as Float32 stores it (round to nearest); beyond its range, infinity."""
    try:
        return struct.unpack("f", struct.pack("f", value))[0]
    except (OverflowError, struct.error):  # NaN packs fine: only magnitudes overflow
        return math.inf if value > 0 else -math.inf


@lru_cache(maxsize=256)
def _cached_millis(moment: datetime) -> int:
    """`to_millis` of the epoch and of a batch's acceptance time, computed once."""
    return to_millis(moment)


def to_millis(moment: datetime) -> int:
    """Whole milliseconds since 1970 (floored, as DateTime64(3) stores it); naive means UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - UNIX_EPOCH) // timedelta(milliseconds=1)


def stored_time(moment: datetime) -> datetime:
    """The time as the warehouse keeps it (whole milliseconds, UTC): every writer stores this,
    so the rule judges exactly what is stored."""
    return UNIX_EPOCH + timedelta(milliseconds=to_millis(moment))


def timestamp_problem(timestamp_ms: int, epoch: datetime, accepted_ms: int) -> str | None:
    """Why an event time is not valid, given when the event was accepted, or None."""
    if timestamp_ms < _cached_millis(epoch):
        return f"is before {epoch.isoformat()} (RECSYS_QUALITY_EPOCH)"
    if timestamp_ms > accepted_ms + TOLERANCE_MS:
        return "is in the future (more than 5 minutes ahead of the server's clock)"
    return None


def event_problem(
    event: dict, epoch: datetime, accepted_at: datetime | None = None
) -> tuple[str, str] | None:
    """(field, why) for the first invalid field of one event, or None when it is valid.

    `event` has the stored fields; `timestamp` is a datetime (or None: "now").
    """
    for name in ID_FIELDS:
        problem = id_problem(event.get(name))
        if problem:
            return name, problem
    event_type = event.get("event_type")
    if event_type not in EVENT_TYPES:
        return "event_type", f"{event_type!r} is not one of {', '.join(EVENT_TYPES)}"
    problem = value_problem(event_type, event.get("value"))
    if problem:
        return "value", problem
    accepted_ms = _cached_millis(accepted_at) if accepted_at else to_millis(datetime.now(UTC))
    timestamp = event.get("timestamp")
    timestamp_ms = accepted_ms if timestamp is None else to_millis(timestamp)
    problem = timestamp_problem(timestamp_ms, epoch, accepted_ms)
    if problem:
        return "timestamp", problem
    return None


def invalid_fields(frame: pd.DataFrame, epoch: datetime, accepted_at: datetime) -> pd.Series:
    """Per row, the first invalid field ('' when the row is valid): `event_problem`, vectorised.

    A missing `value` is NaN or None (pandas cannot tell them apart; writers store it as NULL).
    """
    reason = pd.Series("", index=frame.index, dtype=object)

    def mark(field: str, bad: pd.Series | np.ndarray) -> None:
        reason[(reason == "") & np.asarray(bad, dtype=bool)] = field

    for name in ID_FIELDS:
        mark(name, _bad_ids(frame[name]))
    event_type = frame["event_type"].astype(object)
    mark("event_type", ~event_type.isin(EVENT_TYPES))
    value = pd.to_numeric(frame["value"], errors="coerce").astype(np.float64)
    with np.errstate(over="ignore"):
        stored = value.astype(np.float32).astype(np.float64)
    low, high = value_bounds(event_type)
    missing = value.isna()
    out_of_range = ~missing & ~((stored >= low) & (stored <= high))  # inf fails here too
    mark("value", (missing & (event_type == "rating")) | out_of_range)
    millis = millis_of(frame["timestamp"])
    accepted_ms = to_millis(accepted_at)
    mark("timestamp", (millis < to_millis(epoch)) | (millis > accepted_ms + TOLERANCE_MS))
    return reason


def _bad_ids(ids: pd.Series) -> np.ndarray:
    """Which ids break the id rule. Fast path: a column that is all valid text becomes Arrow
    strings and is checked with RE2, the pattern ClickHouse uses; anything else (a lone
    surrogate, a number, a missing id) takes the Python path."""
    try:
        text = pa.array(ids.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowException, UnicodeError):
        is_text = ids.map(lambda v: isinstance(v, str)).astype(bool)
        checked = ids.where(is_text, "")
        lengths = checked.str.len()
        malformed = checked.str.contains(BAD_ID_PATTERN, regex=True)
        bad = ~is_text | (lengths < 1) | (lengths > MAX_ID_LENGTH) | malformed
        return bad.to_numpy(dtype=bool)
    lengths = pc.utf8_length(text)
    bad = pc.or_(
        pc.or_(pc.less(lengths, 1), pc.greater(lengths, MAX_ID_LENGTH)),
        pc.match_substring_regex(text, _RE2_BAD_ID),
    )
    return pc.fill_null(bad, True).to_numpy(zero_copy_only=False).astype(bool)


def value_bounds(event_types: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Each row's allowed (low, high) value for its event type; NaN for an unknown type."""
    low = event_types.map({t: bounds[0] for t, bounds in VALUE_RANGES.items()})
    high = event_types.map({t: bounds[1] for t, bounds in VALUE_RANGES.items()})
    return low.astype(float), high.astype(float)


def millis_of(timestamps: pd.Series) -> np.ndarray:
    """Whole milliseconds since 1970, floored as DateTime64(3) stores them; a missing or
    unparseable time as the smallest integer, which every bound rejects."""
    moments = pd.to_datetime(timestamps, utc=True, errors="coerce")
    since = (moments - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)
    return since.fillna(np.iinfo(np.int64).min).to_numpy(dtype=np.int64)


def invalid_field_sql(epoch: datetime) -> tuple[str, dict[str, object]]:
    """A ClickHouse expression over an `events` row: the first invalid field, or '' if valid.

    Its bound parameters are returned with it; `ingested_at` is when the row was accepted.
    """
    conditions = []
    for name in ID_FIELDS:
        conditions.append(
            f"NOT isValidUTF8({name}) OR lengthUTF8({name}) NOT BETWEEN 1 AND {MAX_ID_LENGTH} "
            f"OR match({name}, {{bad_id_re2:String}})"
        )
    types = [t for t in EVENT_TYPES]
    conditions.append("toString(event_type) NOT IN {event_types:Array(String)}")
    conditions.append(
        "if(value IS NULL, toString(event_type) = 'rating', "
        "NOT isFinite(assumeNotNull(value)) "
        "OR assumeNotNull(value) < transform(toString(event_type), {event_types:Array(String)}, "
        "{value_lows:Array(Float64)}, nan) "
        "OR assumeNotNull(value) > transform(toString(event_type), {event_types:Array(String)}, "
        "{value_highs:Array(Float64)}, nan))"
    )
    conditions.append(
        "toUnixTimestamp64Milli(timestamp) < {epoch_ms:Int64} OR toUnixTimestamp64Milli(timestamp)"
        " > toUnixTimestamp64Milli(ingested_at) + {tolerance_ms:Int64}"
    )
    branches = ", ".join(
        f"{condition}, '{field}'" for condition, field in zip(conditions, FIELDS, strict=True)
    )
    return f"multiIf({branches}, '')", {
        "bad_id_re2": _RE2_BAD_ID,
        "event_types": types,
        "value_lows": [VALUE_RANGES[t][0] for t in types],
        "value_highs": [VALUE_RANGES[t][1] for t in types],
        "epoch_ms": to_millis(epoch),
        "tolerance_ms": TOLERANCE_MS,
    }


# What each field must be, in words: the reason recorded beside a quarantined row.
FIELD_RULES: dict[str, str] = {
    **{
        name: f"{name} must be 1 to {MAX_ID_LENGTH} characters of valid UTF-8, without control "
        "characters and without a space at either end"
        for name in ID_FIELDS
    },
    "event_type": f"event_type must be one of {', '.join(EVENT_TYPES)}",
    "value": "value must be a finite number within its type's range (required for ratings)",
    "timestamp": "timestamp must be after RECSYS_QUALITY_EPOCH and at most 5 minutes after the "
    "event was stored",
}
