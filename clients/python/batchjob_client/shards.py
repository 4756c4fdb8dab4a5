"""A job type spread over shards (``shards: N``; docs/protocol.md, "A type spread over shards"), as core does
it (packages/core/src/keys.ts, queue/shard-plan.ts, queue/shard-merge.ts): shard 0 is the type's own keys
``{T}``, shard i the keys ``{T#i}``. Which shard an item goes to, the shard counts of the option and of the
config the leader publishes, and how reads over the shards add up. Pure functions: no Redis here."""

from __future__ import annotations

import binascii
import json
from collections.abc import Mapping
from typing import Any, Callable, Sequence, TypeVar

from .errors import InvalidArgumentError
from .validate import check_job_type

MAX_SHARDS = 64
"""Shards one job type may have at most (core's MAX_SHARDS)."""

T = TypeVar("T")


def shard_queue(job_type: str, shard: int) -> str:
    """The queue name of shard ``shard`` of ``job_type``: the type itself for shard 0, ``T#i`` for shard i."""
    return job_type if shard == 0 else f"{job_type}#{shard}"


def shard_of_key(key: str, shards: int) -> int:
    """The shard of an ordering key or caller id: CRC16-XMODEM of its UTF-8 bytes (Redis Cluster's checksum;
    ``binascii.crc_hqx`` with 0 as start value) modulo ``shards``, as core's ``shardOfKey``."""
    return 0 if shards <= 1 else binascii.crc_hqx(key.encode("utf-8"), 0) % shards


def plan_shards(shards: int, keys: Sequence[str]) -> list[list[int]]:
    """The indexes of the items each shard gets, in input order. ``keys[i]``: item i's ordering key, else its
    caller id, else '' (shard 0: the script takes generated ids from the counter of the shard it runs on, and only
    shard 0's counter is the type's, unique over all shards)."""
    members: list[list[int]] = [[] for _ in range(max(1, shards))]
    for i, key in enumerate(keys):
        members[shard_of_key(key, shards) if key else 0].append(i)
    return members


def _is_count(n: Any) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= MAX_SHARDS


def check_shards_option(shards: Any) -> dict[str, int]:
    """The ``shards`` option of the client: job type name -> shard count (1 to 64)."""
    if shards is None:
        return {}
    if not isinstance(shards, Mapping):
        got = type(shards).__name__
        raise InvalidArgumentError(f"shards must be a dict of job type name -> shard count, got {got}")
    out: dict[str, int] = {}
    for job_type, n in shards.items():
        check_job_type(job_type)
        if not _is_count(n):
            raise InvalidArgumentError(
                f"shards of job type {job_type}: expected an integer from 1 to {MAX_SHARDS}, got {n!r}"
            )
        out[job_type] = n
    return out


def published_shards(raw: str | bytes | None) -> dict[str, int] | None:
    """The shard counts in the config the leader published (``jobTypes[].name``, ``jobTypes[].shards``); entries
    without a valid count are left out. None when there is no config or it cannot be read."""
    if raw is None:
        return None
    try:
        types = json.loads(raw).get("jobTypes")
    except (ValueError, AttributeError):
        return None
    if not isinstance(types, list):
        return None
    return {
        t["name"]: t["shards"]
        for t in types
        if isinstance(t, dict) and isinstance(t.get("name"), str) and _is_count(t.get("shards"))
    }


def sum_counts(shards: Sequence[dict[str, int]]) -> dict[str, int]:
    """The counts of a type from its shards' counts (core's ``sumCounts``)."""
    out = dict(shards[0])
    for c in shards[1:]:
        for f in out:
            out[f] += c[f]
    return out


def merge_dead(shards: Sequence[Sequence[T]], offset: int, limit: int, died_at: Callable[[T], int]) -> list[T]:
    """Dead items of several shards, newest first (a stable sort: ties keep the shards' order), ``offset`` and
    ``limit`` applied to the merge (core's ``mergeDead``)."""
    merged = sorted((d for shard in shards for d in shard), key=died_at, reverse=True)
    return merged[offset : offset + limit]
