"""A batchjob producer for Python services, on redis-py: enqueues items
through the producer protocol (docs/protocol.md: core's enqueue script,
shipped here as enqueue.lua, byte for byte), and reads a job type's counts
and dead letters. An enqueue:
  1. checks every item before anything is written (validate.py);
  2. for a type spread over shards, spreads the items as shards.py says
     (the shard count from the ``shards`` option, else from the config the
     leader published, read at most once a minute);
  3. per shard that gets items, calls the script with that shard's keys
     once per ``enqueue_batch`` items (EVALSHA, EVAL on NOSCRIPT); several
     calls of one shard run in one MULTI, so they land together;
  4. registers the job type in the control plane's ``types`` set (what
     ``batchjob status`` lists), once per client, best effort."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Sequence

from redis.exceptions import NoScriptError, ResponseError

from .errors import InvalidArgumentError, PartialEnqueueError, ScriptError, error_from_lua
from .shards import check_shards_option, merge_dead, plan_shards, published_shards, shard_queue, sum_counts
from .validate import check_job_type, encode_items

PROTOCOL_VERSION = 2
"""The producer protocol version this client speaks (the enqueue script's ARGV[1])."""

DEFAULT_PREFIX = "bj"
DEFAULT_MAX_PAYLOAD_BYTES = 512 * 1024
DEFAULT_ENQUEUE_BATCH = 5000
PUBLISHED_SHARDS_SECONDS = 60
"""How old the shard counts read from the published config may get before they are read again (core's)."""

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


def type_keys(prefix: str, job_type: str, shard: int = 0) -> dict[str, str]:
    """The keys of one job type (of its shard ``shard``: ``{T#i}``) the producer protocol names (docs/protocol.md)."""
    base = f"{prefix}:{{{shard_queue(job_type, shard)}}}"
    names = ("pending", "ids", "seq", "stats", "activity", "wake", "since", "delayed", "dead", "leases", "items", "fails")
    return {n: f"{base}:{n}" for n in names}


def _text(v: Any) -> str:
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


class Client:
    """A producer on a redis-py client (``redis.Redis``; replies as bytes or decoded, either way).

    ``shards``: job type name -> how many shards it is spread over (1 to 64), as in the deployment's config.
    A type not named there takes its count from the config the leader published (1 when there is none).
    """

    # the clock of the published config's age (monotonic: an interval within this process)
    _clock = staticmethod(time.monotonic)

    def __init__(
        self,
        redis: Any,
        prefix: str = DEFAULT_PREFIX,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        enqueue_batch: int = DEFAULT_ENQUEUE_BATCH,
        shards: dict[str, int] | None = None,
    ) -> None:
        if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
            raise InvalidArgumentError(
                f"invalid key prefix {prefix!r}: use 1 to 32 characters from A-Z a-z 0-9 . _ : -"
            )
        for name, value, least in (("max_payload_bytes", max_payload_bytes, 64), ("enqueue_batch", enqueue_batch, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise InvalidArgumentError(f"{name} must be an integer of at least {least}, got {value!r}")
        self.shards = check_shards_option(shards)
        self.redis = redis
        self.prefix = prefix
        self.max_payload_bytes = max_payload_bytes
        self.enqueue_batch = enqueue_batch
        self._script = enqueue_script()
        self._sha = hashlib.sha1(self._script.encode("utf-8")).hexdigest()
        self._registered: set[str] = set()
        self._published: dict[str, int] = {}
        self._published_at: float | None = None

    @property
    def types_key(self) -> str:
        """SET of every job type enqueued to (the control plane's slot)."""
        return f"{self.prefix}:{{{self.prefix}:control}}:types"

    @property
    def config_key(self) -> str:
        """STRING: JSON of the effective config the leader manager published (the control plane's slot)."""
        return f"{self.prefix}:{{{self.prefix}:control}}:config"

    def shards_of(self, job_type: str) -> int:
        """How many shards ``job_type`` is spread over: the ``shards`` option's count, else the published config's
        (one GET, kept for PUBLISHED_SHARDS_SECONDS), else 1."""
        check_job_type(job_type)
        own = self.shards.get(job_type)
        if own is not None:
            return own
        now = self._clock()
        if self._published_at is None or now - self._published_at > PUBLISHED_SHARDS_SECONDS:
            self._load_published_shards(now)
        return self._published.get(job_type, 1)

    def _load_published_shards(self, now: float) -> None:
        """Reads the published config. A missing or unreadable one keeps what was read before (nothing at first:
        1 shard), as core does; it is read again after PUBLISHED_SHARDS_SECONDS either way."""
        try:
            read = published_shards(self.redis.get(self.config_key))
        except Exception as err:  # noqa: BLE001 - Redis unreachable: the enqueue itself will say so
            log.debug("the published config %s could not be read for shard counts (%s)", self.config_key, err)
            read = None
        if read is not None:
            self._published = read
        self._published_at = now

    def enqueue(self, job_type: str, items: Sequence[dict[str, Any]]) -> EnqueueResult:
        """Adds items, each ``{"payload": <JSON value>}``, with an optional caller id ``"id"`` and ordering key
        ``"key"``.

        A caller id dedupes: an item whose id is still queued (pending, leased,
        delayed or dead) is skipped and its id listed in ``deduped``. Other items
        get a generated id (``#<n>``). Every item is checked first; one bad item
        raises (InvalidPayloadError, InvalidItemIdError, PayloadTooLargeError, ...)
        and nothing is written.

        A type spread over N shards: an item with a key goes to shard CRC16(key) mod N, else one with a caller id
        to CRC16(id) mod N (where core puts it: the id dedupes against core's items too), else to shard 0. Generated
        ids all come from shard 0's counter, unique over the shards. One shard's items land together; when some
        shards fail and others do not, PartialEnqueueError says which items were queued.
        """
        check_job_type(job_type)
        ids, payloads, keys = encode_items(items, self.max_payload_bytes)
        if not ids:
            return EnqueueResult(0, [], [])
        plan = plan_shards(self.shards_of(job_type), [key or item_id for key, item_id in zip(keys, ids)])
        seeds = self._reserve_ids(job_type, plan, ids)
        added, deduped, queued_ids, failed = 0, [], [], []
        for shard, members in enumerate(plan):
            if not members:
                continue
            k = type_keys(self.prefix, job_type, shard)
            try:
                n, dup = self._write_shard(k, members, ids, payloads, seeds.get(shard))
            except Exception as err:  # noqa: BLE001 - any failure of one shard: the others are still written
                failed.append((shard, err))
                continue
            added += n
            deduped.extend(dup)
            queued_ids.extend(ids[i] for i in members)
        if failed and not queued_ids:
            raise failed[0][1]
        self._register(job_type)
        if failed:
            first = failed[0][1]
            total = len(ids)
            shown = ", ".join(str(shard) for shard, _ in failed)
            raise PartialEnqueueError(
                f"enqueue of {job_type}: {len(queued_ids)} of {total} items were queued, the "
                f"{total - len(queued_ids)} for shard(s) {shown} were not: {first}",
                queued_ids,
            ) from first
        return EnqueueResult(added, ids, deduped)

    def _reserve_ids(self, job_type: str, plan: list[list[int]], ids: list[str]) -> dict[int, int]:
        """The generated ids of the items on shards other than 0 (items with a key and no caller id) come from
        shard 0's counter, as core takes them: one INCRBY for all. Returns, per such shard, the value to set its
        own counter to before its script runs, so the script generates exactly the ids reserved for it."""
        wanted = {shard: sum(1 for i in members if ids[i] == "") for shard, members in enumerate(plan) if shard > 0}
        total = sum(wanted.values())
        if total == 0:
            return {}
        try:
            before = int(self.redis.incrby(type_keys(self.prefix, job_type)["seq"], total)) - total
        except ResponseError as err:
            raise ScriptError(f"enqueue failed: INCRBY of the type's id counter: {err}") from err
        seeds = {}
        for shard, n in wanted.items():
            if n > 0:
                seeds[shard] = before
                before += n
        return seeds

    def _write_shard(
        self, keys: dict[str, str], members: list[int], ids: list[str], payloads: list[str], seed: int | None
    ) -> tuple[int, list[str]]:
        """Writes the items ``members`` (indexes, in input order) with one shard's keys: one script call per
        ``enqueue_batch`` of them, several in one MULTI (with ``seed``: its counter set first, see _reserve_ids).
        Fills in their generated ids; returns (added, deduped)."""
        script_keys = [keys[n] for n in ("pending", "ids", "seq", "stats", "activity", "wake", "since")]
        runs = [members[i : i + self.enqueue_batch] for i in range(0, len(members), self.enqueue_batch)]
        calls = [self._args(ids, payloads, run) for run in runs]
        if len(calls) == 1 and seed is None:
            replies = [self._run(script_keys, calls[0])]
        else:
            replies = self._run_all(script_keys, calls, seed)
        added, deduped = 0, []
        for run, reply in zip(runs, replies):
            n, first_seq, dup = reply
            added += int(n)
            deduped.extend(_text(d) for d in dup)
            seq = int(first_seq)
            for i in run:
                if ids[i] == "":
                    ids[i] = f"#{seq}"
                    seq += 1
        return added, deduped

    @staticmethod
    def _args(ids: list[str], payloads: list[str], run: list[int]) -> list[Any]:
        args: list[Any] = [PROTOCOL_VERSION, sum(1 for i in run if ids[i] == "")]
        for i in run:
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

    def _run_all(self, keys: list[str], calls: list[list[Any]], seed: int | None = None) -> list[Any]:
        """Several script calls in one MULTI (EVAL: a script missing from the cache cannot fail one of them alone);
        with ``seed``, a SET of the counter (KEYS[3]) to it first. Returns the scripts' replies."""
        pipe = self.redis.pipeline(transaction=True)
        if seed is not None:
            pipe.set(keys[2], seed)
        for args in calls:
            pipe.eval(self._script, len(keys), *keys, *args)
        try:
            replies = pipe.execute()
            return replies[1:] if seed is not None else replies
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
        the lifetime counters (enqueued, deduped, acquired, acked, retried, died, returned, split, grouped, ...);
        for a type spread over shards, the sum of its shards'."""
        shards = self.shards_of(job_type)
        return sum_counts([self._read_counts(type_keys(self.prefix, job_type, s)) for s in range(shards)])

    def _read_counts(self, k: dict[str, str]) -> dict[str, int]:
        """The counts of one queue (a type, or one of its shards), in one MULTI."""
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
        """Dead items, newest first, with their last error and counts; for a type spread over shards, merged over
        its shards (``offset`` and ``limit`` count in the merge)."""
        check_job_type(job_type)
        for name, value, least in (("offset", offset, 0), ("limit", limit, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise InvalidArgumentError(f"{name} must be an integer of at least {least}, got {value!r}")
        shards = self.shards_of(job_type)
        if shards == 1:
            return self._read_dead(type_keys(self.prefix, job_type), offset, limit)
        # the newest offset + limit of each shard hold the newest offset + limit of all
        each = [self._read_dead(type_keys(self.prefix, job_type, s), 0, offset + limit) for s in range(shards)]
        return merge_dead(each, offset, limit, lambda d: d.died_at)

    def _read_dead(self, k: dict[str, str], offset: int, limit: int) -> list[DeadItem]:
        """The dead items of one queue (a type, or one of its shards), newest first."""
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
