"""What the tests share: the Redis and key prefix the suite gives (BATCHJOB_TEST_REDIS_URL,
BATCHJOB_TEST_PREFIX; run by test/clients/python.test.ts), a fresh prefix per test, and the
shared table of enqueue cases (test/fixtures/enqueue-cases.json), and the shards core picks for a table of keys
(test/fixtures/shard-keys.json)."""

from __future__ import annotations

import itertools
import json
import os
import secrets
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[3]
CASES = Path(os.environ.get("BATCHJOB_TEST_CASES", ROOT / "test" / "fixtures" / "enqueue-cases.json"))
SHARD_KEYS = ROOT / "test" / "fixtures" / "shard-keys.json"
_counter = itertools.count(1)
_BASE = os.environ.get("BATCHJOB_TEST_PREFIX") or f"pytest{secrets.token_hex(4)}"


def redis_url() -> str:
    url = os.environ.get("BATCHJOB_TEST_REDIS_URL")
    if not url:
        raise RuntimeError("set BATCHJOB_TEST_REDIS_URL to a Redis the tests may write to (npm test does)")
    return url


def fresh_prefix() -> str:
    """A prefix under the suite's own (npm test deletes its keys after the run), or a random one."""
    return f"{_BASE}:p{next(_counter)}"


def connect(decode_responses: bool = False) -> redis.Redis:
    return redis.Redis.from_url(redis_url(), decode_responses=decode_responses)


def keys_under(r: redis.Redis, prefix: str) -> list[str]:
    return sorted(k.decode() if isinstance(k, bytes) else k for k in r.scan_iter(match=f"{prefix}:*", count=1000))


def load_cases() -> dict:
    return json.loads(CASES.read_text(encoding="utf-8"))


def load_shard_rows() -> list[tuple[str, int, int]]:
    """(key, shards, the shard core's shardOfKey gives)."""
    return [tuple(row) for row in json.loads(SHARD_KEYS.read_text(encoding="utf-8"))["rows"]]


class _Unserialisable:
    """A value json.dumps refuses."""


SPECIALS = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


def decode(v):
    """The table's value in Python: ``$special`` and ``$repeat`` objects replaced."""
    if isinstance(v, list):
        return [decode(x) for x in v]
    if not isinstance(v, dict):
        return v
    if list(v) == ["$special"]:
        if v["$special"] == "unserialisable":
            return _Unserialisable()
        return SPECIALS[v["$special"]]
    if list(v) == ["$repeat"]:
        text, n = v["$repeat"]
        return text * n
    return {k: decode(x) for k, x in v.items()}
