"""A job type spread over shards, on the Python client: items go to the shard core would put them in (by key, else
by caller id, else shard 0), dedupe holds across calls, counts add up the shards, dead letters merge newest first,
the shard count comes from the option or the published config (read once a minute), and a failed shard beside
written ones raises PartialEnqueueError."""

from __future__ import annotations

import json
import unittest

from batchjob_client import (
    Client,
    InvalidArgumentError,
    InvalidJobTypeError,
    PartialEnqueueError,
    ScriptError,
    shard_of_key,
    type_keys,
)

from .support import connect, fresh_prefix, keys_under, load_shard_rows


def crc16_xmodem(data: bytes) -> int:
    """The test's own CRC16-XMODEM (poly 0x1021, start 0), bit by bit, to check the client's against."""
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def expected_shard(key: str, shards: int) -> int:
    return crc16_xmodem(key.encode("utf-8")) % shards


class ShardChoice(unittest.TestCase):
    def test_the_checksum_is_crc16_xmodem_and_core_picks_the_same_shards(self) -> None:
        self.assertEqual(crc16_xmodem(b"123456789"), 0x31C3)
        rows = load_shard_rows()
        self.assertGreater(len(rows), 100)
        for key, shards, shard in rows:
            # core's choice (the fixture, checked against core's shardOfKey by the Node tests) is the client's
            self.assertEqual(shard_of_key(key, shards), shard, (key, shards))
            if shards > 1:
                self.assertEqual(expected_shard(key, shards), shard, (key, shards))


class ShardedClient(unittest.TestCase):
    def setUp(self) -> None:
        self.redis = connect()
        self.prefix = fresh_prefix()

    def tearDown(self) -> None:
        self.redis.close()

    def ids_in(self, job_type: str, shard: int) -> list[str]:
        entries = self.redis.lrange(type_keys(self.prefix, job_type, shard)["pending"], 0, -1)
        return [e.decode("utf-8").split("\t", 1)[0] for e in entries]

    def publish(self, config: object) -> None:
        """What the leader manager publishes: the effective config as JSON."""
        text = config if isinstance(config, str) else json.dumps(config)
        self.redis.set(f"{self.prefix}:{{{self.prefix}:control}}:config", text)

    def test_spread_by_key_then_caller_id_generated_ids_from_shard_0s_counter(self) -> None:
        # enqueue_batch 3: a shard with more items runs its script calls in one MULTI
        client = Client(self.redis, prefix=self.prefix, shards={"s": 4}, enqueue_batch=3)
        items = []
        for i in range(12):
            items.append({"key": f"customer-{i}", "payload": {"k": i}})
            items.append({"id": f"order-{i}", "payload": {"o": i}})
            items.append({"payload": {"n": i}})
        # an item with both: its key decides
        items.append({"id": "both-1", "key": "customer-3", "payload": "both"})
        r = client.enqueue("s", items)
        self.assertEqual((r.added, r.deduped), (37, []))
        self.assertEqual(r.ids[1::3][:12], [f"order-{i}" for i in range(12)])
        generated = r.ids[0::3][:12] + r.ids[2::3][:12]
        # generated ids, keyed items' on other shards too, all come from shard 0's counter: unique over the shards
        self.assertEqual(sorted(int(g[1:]) for g in generated if g.startswith("#")), list(range(1, 25)))
        self.assertEqual(self.redis.get(type_keys(self.prefix, "s")["seq"]), b"24")
        want: dict[int, list[str]] = {s: [] for s in range(4)}
        for item, item_id in zip(items, r.ids):
            key = item.get("key") or item.get("id")
            want[expected_shard(key, 4) if key else 0].append(item_id)
        for s in range(4):
            self.assertEqual(self.ids_in("s", s), want[s], f"shard {s}")
        self.assertEqual(sum(1 for s in range(4) if want[s]), 4, "the items reach every shard")
        # the keyed items of one key stay in order on their shard
        self.assertIn(r.ids[-1], want[expected_shard("customer-3", 4)])
        # the type's own keys are shard 0's; shard i has a hash tag of its own
        self.assertEqual(type_keys(self.prefix, "s", 2)["pending"], f"{self.prefix}:{{s#2}}:pending")

    def test_caller_ids_dedupe_across_calls_and_clients(self) -> None:
        first = Client(self.redis, prefix=self.prefix, shards={"s": 3})
        ids = [f"order-{i}" for i in range(30)]
        r = first.enqueue("s", [{"id": i, "payload": i} for i in ids])
        self.assertEqual((r.added, r.deduped), (30, []))
        again = Client(self.redis, prefix=self.prefix, shards={"s": 3})
        r = again.enqueue("s", [{"id": i, "payload": "again"} for i in reversed(ids)] + [{"id": "new", "payload": 1}])
        self.assertEqual(r.added, 1)
        self.assertEqual(sorted(r.deduped), sorted(ids))
        self.assertEqual(again.counts("s")["pending"], 31)
        self.assertEqual(again.counts("s")["deduped"], 30)

    def test_counts_sum_the_shards(self) -> None:
        client = Client(self.redis, prefix=self.prefix, shards={"s": 3})
        client.enqueue("s", [{"id": f"i{n}", "payload": n} for n in range(20)] + [{"payload": "gen"}])
        # what a worker leaves on shard 2: one leased item, one dead
        k2 = type_keys(self.prefix, "s", 2)
        self.redis.hset(k2["stats"], mapping={"acquired": 2, "died": 1})
        self.redis.zadd(k2["dead"], {"x": 1})
        one = Client(self.redis, prefix=self.prefix)
        per_shard = [one._read_counts(type_keys(self.prefix, "s", s)) for s in range(3)]
        self.assertTrue(all(c["pending"] > 0 for c in per_shard), per_shard)
        c = client.counts("s")
        self.assertEqual(
            {f: c[f] for f in ("pending", "enqueued", "leased", "dead")},
            {"pending": 21, "enqueued": 21, "leased": 1, "dead": 1},
        )
        self.assertEqual(c["total"], 23)
        self.assertEqual(c, {f: sum(s[f] for s in per_shard) for f in c})
        # a client that does not know the shards sees shard 0 only
        self.assertEqual(Client(self.redis, prefix=self.prefix).counts("s")["pending"], per_shard[0]["pending"])

    def test_dead_letters_merge_newest_first_over_the_shards(self) -> None:
        client = Client(self.redis, prefix=self.prefix, shards={"s": 3})
        died = {0: {"a": 100, "d": 400, "g": 700}, 1: {"b": 200, "e": 500}, 2: {"c": 300, "f": 600, "h": 700}}
        for shard, members in died.items():
            k = type_keys(self.prefix, "s", shard)
            self.redis.zadd(k["dead"], members)
            self.redis.hset(k["items"], mapping={m: json.dumps({"shard": shard}) for m in members})
            self.redis.hset(k["fails"], mapping={m: '{"attempts":2,"error":"boom"}' for m in members})
        dead = client.list_dead("s")
        # a tie (700) keeps the shards' order
        self.assertEqual([d.id for d in dead], ["g", "h", "f", "e", "d", "c", "b", "a"])
        h = dead[1]
        self.assertEqual((h.payload, h.attempts, h.error, h.died_at), ({"shard": 2}, 2, "boom", 700))
        self.assertEqual([d.id for d in client.list_dead("s", offset=2, limit=3)], ["f", "e", "d"])
        self.assertEqual([d.id for d in client.list_dead("s", offset=6, limit=5)], ["b", "a"])
        self.assertEqual(client.list_dead("s", offset=8), [])

    def test_the_shard_count_comes_from_the_published_config_read_once_a_minute(self) -> None:
        now = [1000.0]
        gets = []

        class Counting:
            def __init__(self, inner):
                self.inner = inner

            def __getattr__(self, name):
                return getattr(self.inner, name)

            def get(self, key):
                gets.append(key)
                return self.inner.get(key)

        client = Client(Counting(self.redis), prefix=self.prefix)
        client._clock = lambda: now[0]
        # no config yet: one shard
        self.assertEqual(client.shards_of("s"), 1)
        self.publish({"jobTypes": [{"name": "s", "shards": 3}, {"name": "bad", "shards": 0}, {"name": "t"}]})
        now[0] += 59
        self.assertEqual(client.shards_of("s"), 1, "kept for a minute")
        now[0] += 2
        self.assertEqual(client.shards_of("s"), 3)
        self.assertEqual((client.shards_of("bad"), client.shards_of("t"), client.shards_of("u")), (1, 1, 1))
        self.assertEqual(len(gets), 2)
        self.assertEqual(gets[0], f"{self.prefix}:{{{self.prefix}:control}}:config")
        r = client.enqueue("s", [{"id": f"order-{i}", "payload": i} for i in range(12)])
        for i, item_id in enumerate(r.ids):
            self.assertIn(item_id, self.ids_in("s", expected_shard(f"order-{i}", 3)))
        self.assertEqual(len(gets), 2, "the enqueue used the counts read")
        # an unreadable config keeps what was read, as core does
        self.publish("not json")
        now[0] += 61
        self.assertEqual(client.shards_of("s"), 3)
        # the option wins over the config, with no read
        own = Client(Counting(self.redis), prefix=self.prefix, shards={"s": 2})
        self.assertEqual(own.shards_of("s"), 2)
        self.assertEqual(len(gets), 3)
        # a client started when the config is unreadable: one shard
        fresh = Client(self.redis, prefix=self.prefix)
        self.assertEqual(fresh.shards_of("s"), 1)

    def test_a_failed_shard_beside_written_ones_raises_partial_enqueue(self) -> None:
        client = Client(self.redis, prefix=self.prefix, shards={"s": 3})
        # shard 2's dedupe set is no set: its script fails on its first write (WRONGTYPE), before writing anything
        self.redis.set(type_keys(self.prefix, "s", 2)["ids"], "not a set")
        ids = [f"order-{i}" for i in range(30)]
        with self.assertRaises(PartialEnqueueError) as caught:
            client.enqueue("s", [{"id": i, "payload": i} for i in ids])
        err = caught.exception
        on_2 = [i for i in ids if expected_shard(i, 3) == 2]
        self.assertTrue(0 < len(on_2) < 30, on_2)
        self.assertEqual(err.code, "BJ_ERR_ENQUEUE_PARTIAL")
        self.assertEqual(err.queued, 30 - len(on_2))
        self.assertEqual(sorted(err.queued_ids), sorted(set(ids) - set(on_2)))
        self.assertIn(
            f"enqueue of s: {30 - len(on_2)} of 30 items were queued, the {len(on_2)} for shard(s) 2 were not: ",
            str(err),
        )
        self.assertIsInstance(err.__cause__, ScriptError)
        self.assertEqual(client.counts("s")["pending"], 30 - len(on_2))
        self.assertEqual(client.job_types(), ["s"])
        # when every shard fails, the error is the shards' own
        with self.assertRaises(ScriptError):
            client.enqueue("s", [{"id": i, "payload": i} for i in on_2])

    def test_bad_keys_and_shard_options_are_refused_naming_the_item_or_type(self) -> None:
        client = Client(self.redis, prefix=self.prefix, shards={"s": 2})
        for key, shown in (
            ("", "a string of 0 characters"),
            ("x" * 1025, "a string of 1025 characters"),
            ("\U0001f600" * 513, "a string of 1026 characters"),
            (42, "42"),
            (["a"], '["a"]'),
            ("\ud800", "a string that is not valid Unicode (a lone surrogate)"),
        ):
            with self.assertRaises(InvalidArgumentError) as caught:
                client.enqueue("s", [{"key": "ok", "payload": 1}, {"key": key, "payload": 2}])
            want = f"item 1: key must be a string of 1 to 1024 characters, got {shown}"
            self.assertEqual(str(caught.exception), want)
            self.assertEqual(caught.exception.code, "BJ_ERR_INVALID_ARGUMENT")
        self.assertEqual(keys_under(self.redis, self.prefix), [])
        # at the limit, and None as "no key"
        at_limit = [{"key": "x" * 1024, "payload": 1}, {"key": "\U0001f600" * 512, "payload": 2}]
        r = client.enqueue("s", [*at_limit, {"key": None, "payload": 3}])
        self.assertEqual(r.added, 3)
        for shards, message in (
            ({"s": 0}, "shards of job type s: expected an integer from 1 to 64, got 0"),
            ({"s": 65}, "shards of job type s: expected an integer from 1 to 64, got 65"),
            ({"s": True}, "shards of job type s: expected an integer from 1 to 64, got True"),
            ({"s": 2.0}, "shards of job type s: expected an integer from 1 to 64, got 2.0"),
            ([("s", 2)], "shards must be a dict of job type name -> shard count, got list"),
        ):
            with self.assertRaises(InvalidArgumentError) as caught:
                Client(self.redis, prefix=self.prefix, shards=shards)
            self.assertEqual(str(caught.exception), message)
        with self.assertRaisesRegex(InvalidJobTypeError, "invalid job type name \"a/b\""):
            Client(self.redis, prefix=self.prefix, shards={"a/b": 2})
        self.assertEqual(Client(self.redis, prefix=self.prefix, shards={"s": 64}).shards_of("s"), 64)


if __name__ == "__main__":
    unittest.main()
