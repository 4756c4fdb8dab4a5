"""Checks and encodes the items of an enqueue before anything is written, as
core does (packages/core/src/enqueue-input.ts): the job type name, caller ids
(1 to 256 UTF-16 code units, no control characters, not starting with '#')
and payloads (JSON that reads back as it was given, at most max_payload_bytes
of UTF-8). One bad item fails the whole call, naming its index and, inside a
payload, the path to the bad value (``payload.a.b[2]``). An ordering key (``key``, which picks the shard of a
type spread over shards) is a string of 1 to 1024 UTF-16 code units."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from .errors import (
    InvalidArgumentError,
    InvalidItemIdError,
    InvalidJobTypeError,
    InvalidPayloadError,
    PayloadTooLargeError,
)

_JOB_TYPE = re.compile(r"[A-Za-z0-9._-]{1,64}", re.ASCII)
JOB_TYPE_NAME_RULE = "use 1 to 64 characters from A-Z a-z 0-9 . _ -"
DOT_NAME_RULE = "'.' and '..' are not job type names: they read as folders"

_CALLER_ID = re.compile(r"[^#\x00-\x1f\x7f][^\x00-\x1f\x7f]*")
_ID_RULE = (
    "use 1 to 256 characters without control characters, not starting with '#' (reserved for generated ids)"
)
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
# integers JavaScript (the worker's JSON.parse) reads exactly
_MAX_SAFE_INT = 2**53 - 1
_LONG_DIGITS = re.compile(r"\d{16}")


# the longest ordering key (UTF-16 code units, as core counts them)
_MAX_KEY_LENGTH = 1024


class EncodedItems(NamedTuple):
    ids: list[str]
    """Caller ids, '' where the script generates one."""
    payloads: list[str]
    keys: list[str]
    """Ordering keys, '' where none was given."""


def _shown(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def check_job_type(name: Any) -> str:
    if isinstance(name, str) and _JOB_TYPE.fullmatch(name) and name not in (".", ".."):
        return name
    rule = DOT_NAME_RULE if name in (".", "..") else JOB_TYPE_NAME_RULE
    shown = json.dumps(name, ensure_ascii=False) if isinstance(name, str) else repr(name)
    raise InvalidJobTypeError(f"invalid job type name {shown}: {rule}")


def _utf16_length(s: str) -> int:
    return len(s) + sum(1 for ch in s if ord(ch) > 0xFFFF)


def _check_id(item: Any, index: int) -> str:
    if not isinstance(item, Mapping) or "payload" not in item:
        got = "None" if item is None else f"a {type(item).__name__}"
        if isinstance(item, Mapping):
            got += " without 'payload'"
        raise InvalidPayloadError(f"item {index}: expected {{id?, payload}}, got {got}")
    item_id = item.get("id")
    if item_id is None:
        return ""
    if (
        not isinstance(item_id, str)
        or not _CALLER_ID.fullmatch(item_id)
        or _utf16_length(item_id) > 256
        or not _encodable(item_id)
    ):
        raise InvalidItemIdError(f"item {index}: id {_shown(item_id)} is not allowed: {_ID_RULE}")
    return item_id


def _check_key(item: Mapping[str, Any], index: int) -> str:
    """The item's ordering key, '' for none (``None`` is none, as for ``id``); a key that is not a non-empty
    string is refused with core's message, naming the item."""
    key = item.get("key")
    if key is None:
        return ""
    if isinstance(key, str) and 1 <= _utf16_length(key) <= _MAX_KEY_LENGTH and _encodable(key):
        return key
    if not isinstance(key, str):
        shown = _shown(key)
    elif _encodable(key):
        shown = f"a string of {_utf16_length(key)} characters"
    else:
        shown = "a string that is not valid Unicode (a lone surrogate)"
    raise InvalidArgumentError(f"item {index}: key must be a string of 1 to {_MAX_KEY_LENGTH} characters, got {shown}")


def _encodable(s: str) -> bool:
    try:
        s.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _segment(holder: Any, key: Any) -> str:
    if isinstance(holder, (list, tuple)):
        return f"[{key}]"
    key = str(key)
    if _IDENTIFIER.fullmatch(key) and len(key) <= 40:
        return f".{key}"
    return f"[{json.dumps(key if len(key) <= 40 else key[:40] + '...', ensure_ascii=False)}]"


class _Loss(NamedTuple):
    path: str
    problem: str
    encodable: bool
    """True: JSON would write something, but not what was given (NaN, a too large integer, ...)."""

    def message(self, index: int) -> str:
        if self.encodable:
            return f"item {index}: {self.path} {self.problem}"
        return f"item {index}: payload is not JSON-serialisable: {self.path} {self.problem}"


def _loss(value: Any, path: str, within: tuple[int, ...] = ()) -> _Loss | None:
    """The first value JSON would not hold as it is, with its path, or None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        if _encodable(value):
            return None
        return _Loss(path, "is a string that is not valid Unicode (a lone surrogate)", True)
    if isinstance(value, int):
        if abs(value) <= _MAX_SAFE_INT:
            return None
        return _Loss(path, f"is {value}, an integer beyond 2^53 - 1 that JavaScript reads rounded (give it as a string)", True)
    if isinstance(value, float):
        if math.isfinite(value):
            return None
        shown = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        return _Loss(path, f"is {shown}, which JSON cannot hold (it would be stored as null)", True)
    if not isinstance(value, (Mapping, list, tuple)):
        return _Loss(path, f"is of type {type(value).__name__}, which JSON cannot hold", False)
    if id(value) in within:
        return _Loss(path, "contains itself (a circular reference)", False)
    inner = (*within, id(value))
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, (str, int, float, bool)) and k is not None:
                return _Loss(path, f"has a key of type {type(k).__name__}, which JSON cannot hold", False)
            found = _loss(v, path + _segment(value, k), inner)
            if found:
                return found
        return None
    for i, v in enumerate(value):
        found = _loss(v, path + _segment(value, i), inner)
        if found:
            return found
    return None


def _encode_payload(item: Mapping[str, Any], index: int, max_payload_bytes: int) -> str:
    payload = item["payload"]
    try:
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (ValueError, TypeError, RecursionError) as err:
        # NaN or ±Infinity, a value of no JSON type, a circular reference: say where
        loss = _loss(payload, "payload")
        if loss:
            raise InvalidPayloadError(loss.message(index)) from err
        raise InvalidPayloadError(f"item {index}: payload is not JSON-serialisable: {err}") from err
    # only a payload with a long run of digits, or a string UTF-8 cannot hold, can lose something more
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        data = b""
    if not data or _LONG_DIGITS.search(text):
        loss = _loss(payload, "payload")
        if loss:
            raise InvalidPayloadError(loss.message(index))
    if len(data) > max_payload_bytes:
        raise PayloadTooLargeError(
            f"item {index}: payload is {len(data)} bytes of JSON, more than maxPayloadBytes {max_payload_bytes}"
        )
    return text


def encode_items(items: Any, max_payload_bytes: int) -> EncodedItems:
    """Checks every item (in order; the first bad one raises: its id, its payload, its key) and encodes its
    payload."""
    if not isinstance(items, (list, tuple)):
        raise InvalidArgumentError("enqueue expects an array of {id?, payload}")
    ids: list[str] = []
    payloads: list[str] = []
    keys: list[str] = []
    for index, item in enumerate(items):
        ids.append(_check_id(item, index))
        payloads.append(_encode_payload(item, index, max_payload_bytes))
        keys.append(_check_key(item, index))
    return EncodedItems(ids, payloads, keys)
