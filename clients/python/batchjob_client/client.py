"""A batchjob producer for Python services, on redis-py: enqueues items
through the producer protocol (docs/protocol.md: core's enqueue script,
shipped here as enqueue.lua, byte for byte), and reads a job type's counts
and dead letters. An enqueue:
  1. checks every item before anything is written (validate.py);
  2. calls the script once per ``enqueue_batch`` items (EVALSHA, EVAL on
     NOSCRIPT); several calls run in one MULTI, so they land together;
  3. registers the job type in the control plane's ``types`` set (what
     ``batchjob status`` lists), once per client, best effort."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Sequence

from redis.exceptions import NoScriptError, ResponseError

from .errors import InvalidArgumentError, error_from_lua
from .validate import check_job_type, encode_items

PROTOCOL_VERSION = 2
"""The producer protocol version this client speaks (the enqueue script's ARGV[1])."""

DEFAULT_PREFIX = "bj"
DEFAULT_MAX_PAYLOAD_BYTES = 512 * 1024
DEFAULT_ENQUEUE_BATCH = 5000

_PREFIX = re.compile(r"[A-Za-z0-9._:-]{1,32}", re.ASCII)
_STAT_FIELDS = (
    "enqueued",
    "deduped",
    "acquired",
    "acked",
    "retried",
    "died",
    "returned",
    "split",
    "grouped",
    "reclaimed",
    "revived",
    "purged",
)
_ATTEMPTS = re.compile(r'^\{"attempts":(\d+)')

log = logging.getLogger("batchjob_client")


def enqueue_script() -> str:
    """The text of the enqueue script (core's, assembled as core runs it)."""
    return resources.files(__package__).joinpath("enqueue.lua").read_text(encoding="utf-8")


@dataclass
class EnqueueResult:
    added: int
    """Items added (deduped ones not counted)."""
    ids: list[str]
    """The id of each input item, in input order (deduped ones included)."""
    deduped: list[str] = field(default_factory=list)
    """Caller ids that were still queued, so their items were skipped."""


@dataclass
class DeadItem:
    id: str
    payload: Any
    attempts: int
    returns: int
    """Times its host or daemon died (or lost its lease) while holding it."""
    error: str | None
    how: str | None
    """How the failure was pinned on this item."""
    died_at: int
    """When it died (ms since the epoch, Redis clock)."""


def type_keys(prefix: str, job_type: str) -> dict[str, str]:
    """The keys of one job type the producer protocol names (docs/protocol.md)."""
    base = f"{prefix}:{{{job_type}}}"
    names = ("pending", "ids", "seq", "stats", "activity", "wake", "since", "delayed", "dead", "leases", "items", "fails")
    return {n: f"{base}:{n}" for n in names}


def _text(v: Any) -> str:
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


class Client:
    """A producer on a redis-py client (``redis.Redis``; replies as bytes or decoded, either way)."""

    def __init__(
        self,
        redis: Any,
        prefix: str = DEFAULT_PREFIX,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        enqueue_batch: int = DEFAULT_ENQUEUE_BATCH,
    ) -> None:
        if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
            raise InvalidArgumentError(
                f"invalid key prefix {prefix!r}: use 1 to 32 characters from A-Z a-z 0-9 . _ : -"
            )
        for name, value, least in (("max_payload_bytes", max_payload_bytes, 64), ("enqueue_batch", enqueue_batch, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise InvalidArgumentError(f"{name} must be an integer of at least {least}, got {value!r}")
        self.redis = redis
        self.prefix = prefix
        self.max_payload_bytes = max_payload_bytes
        self.enqueue_batch = enqueue_batch
        self._script = enqueue_script()
        self._sha = hashlib.sha1(self._script.encode("utf-8")).hexdigest()
        self._registered: set[str] = set()

    @property
    def types_key(self) -> str:
        """SET of every job type enqueued to (the control plane's slot)."""
        return f"{self.prefix}:{{{self.prefix}:control}}:types"

    def enqueue(self, job_type: str, items: Sequence[dict[str, Any]]) -> EnqueueResult:
        """Adds items, each ``{"payload": <JSON value>}`` or ``{"id": "<caller id>", "payload": ...}``.

        A caller id dedupes: an item whose id is still queued (pending, leased,
        delayed or dead) is skipped and its id listed in ``deduped``. Other items
        get a generated id (``#<n>``). Every item is checked first; one bad item
        raises (InvalidPayloadError, InvalidItemIdError, PayloadTooLargeError, ...)
        and nothing is written.
        """
        check_job_type(job_type)
        ids, payloads = encode_items(items, self.max_payload_bytes)
        if not ids:
            return EnqueueResult(0, [], [])
        keys = type_keys(self.prefix, job_type)
        script_keys = [keys[n] for n in ("pending", "ids", "seq", "stats", "activity", "wake", "since")]
        ranges = [(i, min(len(ids), i + self.enqueue_batch)) for i in range(0, len(ids), self.enqueue_batch)]
        calls = [self._args(ids, payloads, a, b) for a, b in ranges]
        replies = [self._run(script_keys, calls[0])] if len(calls) == 1 else self._run_all(script_keys, calls)
        added, deduped = 0, []
        for (a, b), reply in zip(ranges, replies):
            n, first_seq, dup = reply
            added += int(n)
            deduped.extend(_text(d) for d in dup)
            seq = int(first_seq)
            for i in range(a, b):
                if ids[i] == "":
                    ids[i] = f"#{seq}"
                    seq += 1
        self._register(job_type)
        return EnqueueResult(added, ids, deduped)

    @staticmethod
    def _args(ids: list[str], payloads: list[str], a: int, b: int) -> list[Any]:
        args: list[Any] = [PROTOCOL_VERSION, sum(1 for i in range(a, b) if ids[i] == "")]
        for i in range(a, b):
            args += (ids[i], payloads[i])
        return args

    def _run(self, keys: list[str], args: list[Any]) -> Any:
        """One script call: EVALSHA, and EVAL when Redis does not have the script yet."""
        try:
            try:
                return self.redis.evalsha(self._sha, len(keys), *keys, *args)
            except NoScriptError:
                return self.redis.eval(self._script, len(keys), *keys, *args)
        except ResponseError as err:
            raise error_from_lua(str(err), "enqueue") from err

    def _run_all(self, keys: list[str], calls: list[list[Any]]) -> list[Any]:
        """Several script calls in one MULTI (EVAL: a script missing from the cache cannot fail one of them alone)."""
        pipe = self.redis.pipeline(transaction=True)
        for args in calls:
            pipe.eval(self._script, len(keys), *keys, *args)
        try:
            return pipe.execute()
        except ResponseError as err:
            raise error_from_lua(str(err), "enqueue") from err

    def _register(self, job_type: str) -> None:
        """Adds the type to ``types`` once per client, after its items are queued; a failure is logged, not raised
        (the items are in: a caller retrying on an error would queue them twice) and tried again next time."""
        if job_type in self._registered:
            return
        try:
            self.redis.sadd(self.types_key, job_type)
            self._registered.add(job_type)
        except Exception as err:  # noqa: BLE001 - any failure here must not fail a done enqueue
            log.warning(
                "the items were enqueued, but job type %s could not be registered in %s (%s); "
                "trying again on its next enqueue",
                job_type,
                self.types_key,
                err,
            )

    def job_types(self) -> list[str]:
        """Every job type ever enqueued to, sorted."""
        return sorted(_text(t) for t in self.redis.smembers(self.types_key))

    def counts(self, job_type: str) -> dict[str, int]:
        """A job type's counts, as core's ``counts`` gives them: pending, leased, delayed, dead, chunks, total, and
        the lifetime counters (enqueued, deduped, acquired, acked, retried, died, returned, split, grouped, ...)."""
        check_job_type(job_type)
        k = type_keys(self.prefix, job_type)
        pipe = self.redis.pipeline(transaction=True)
        pipe.llen(k["pending"]).zcard(k["delayed"]).zcard(k["dead"]).zcard(k["leases"])
        pipe.hmget(k["stats"], list(_STAT_FIELDS))
        pending, delayed, dead, chunks, stats = pipe.execute()
        stat = {f: int(v or 0) for f, v in zip(_STAT_FIELDS, stats)}
        leased = max(0, stat["acquired"] - stat["acked"] - stat["retried"] - stat["died"] - stat["returned"])
        waiting = int(pending) + max(0, stat["grouped"])
        return {
            **stat,
            "pending": waiting,
            "leased": leased,
            "delayed": int(delayed),
            "dead": int(dead),
            "chunks": int(chunks),
            "total": waiting + leased + int(delayed) + int(dead),
        }

    def list_dead(self, job_type: str, offset: int = 0, limit: int = 50) -> list[DeadItem]:
        """Dead items, newest first, with their last error and counts."""
        check_job_type(job_type)
        for name, value, least in (("offset", offset, 0), ("limit", limit, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise InvalidArgumentError(f"{name} must be an integer of at least {least}, got {value!r}")
        k = type_keys(self.prefix, job_type)
        flat = self.redis.zrevrange(k["dead"], offset, offset + limit - 1, withscores=True)
        if not flat:
            return []
        ids = [_text(m) for m, _ in flat]
        pipe = self.redis.pipeline(transaction=True)
        pipe.hmget(k["items"], ids).hmget(k["fails"], ids)
        payloads, fails = pipe.execute()
        out = []
        for (member, score), item_id, raw, fail in zip(flat, ids, payloads, fails):
            fail_text = _text(fail) if fail is not None else None
            record = _parse_or(fail_text, lambda raw_text: {"error": raw_text}) or {}
            m = _ATTEMPTS.match(fail_text or "")
            returns = record.get("returns") if isinstance(record, dict) else None
            out.append(
                DeadItem(
                    id=item_id,
                    payload=_parse_or(_text(raw) if raw is not None else None, lambda raw_text: raw_text),
                    attempts=int(m.group(1)) if m else 0,
                    returns=returns if isinstance(returns, int) else 0,
                    error=record.get("error") if isinstance(record, dict) else None,
                    how=record.get("how") if isinstance(record, dict) else None,
                    died_at=int(score),
                )
            )
        return out


def _parse_or(text: str | None, fallback: Any) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return fallback(text)
