"""The Python client beyond the shared table: the script it runs is core's (by hash), a missing
script falls back to EVAL, another protocol version is refused, the type is registered, counts and
dead letters read as core lays them out, and replies decoded or not both work."""

from __future__ import annotations

import hashlib
import logging
import unittest

from batchjob_client import (
    Client,
    InvalidArgumentError,
    InvalidJobTypeError,
    ProtocolVersionError,
    ScriptError,
    enqueue_script,
    error_from_lua,
    type_keys,
)

from .support import connect, fresh_prefix, keys_under


class ClientTest(unittest.TestCase):
    def setUp(self) -> None:
        self.redis = connect()
        self.prefix = fresh_prefix()
        self.client = Client(self.redis, prefix=self.prefix)

    def tearDown(self) -> None:
        self.redis.close()

    def script_keys(self, job_type: str) -> list[str]:
        k = type_keys(self.prefix, job_type)
        return [k[n] for n in ("pending", "ids", "seq", "stats", "activity", "wake", "since")]

    def test_runs_the_script_core_runs_and_loads_it_when_redis_lacks_it(self) -> None:
        text = enqueue_script()
        self.assertTrue(text.startswith("-- batchjob enqueue:"), text[:40])
        sha = hashlib.sha1(text.encode()).hexdigest()
        # a sha Redis does not know: EVALSHA answers NOSCRIPT, the client sends the text with EVAL
        self.client._sha = "0" * 40
        r = self.client.enqueue("t", [{"id": "a", "payload": 1}, {"payload": 2}])
        self.assertEqual((r.added, r.ids[0], r.deduped), (2, "a", []))
        self.assertEqual(self.redis.script_exists(sha), [True])
        self.client._sha = sha
        self.assertEqual(self.client.enqueue("t", [{"id": "a", "payload": 3}]).deduped, ["a"])
        # the activity count moved with the items: the manager reads the type again
        self.assertEqual(int(self.redis.get(type_keys(self.prefix, "t")["activity"])), 2)

    def test_another_protocol_version_is_refused_before_anything_is_written(self) -> None:
        for other in ("0", "1", "3", ""):
            with self.assertRaises(ProtocolVersionError) as caught:
                try:
                    self.redis.eval(enqueue_script(), 7, *self.script_keys("t"), other, 0, "a", "1")
                except Exception as err:  # the reply as any caller of the protocol sees it
                    raise error_from_lua(str(err), "enqueue") from err
            self.assertEqual(caught.exception.code, "BJ_ERR_PROTOCOL_VERSION")
            self.assertIn(f"enqueue protocol version {other} is not supported", str(caught.exception))
        self.assertEqual(keys_under(self.redis, self.prefix), [])
        self.assertIsInstance(error_from_lua("OOM command not allowed", "enqueue"), ScriptError)

    def test_registers_the_job_type_and_works_on_decoded_replies(self) -> None:
        decoded = connect(decode_responses=True)
        try:
            c = Client(decoded, prefix=self.prefix)
            c.enqueue("a", [{"id": "x", "payload": {}}])
            self.assertEqual(c.enqueue("a", [{"id": "x", "payload": {}}]).deduped, ["x"])
            self.client.enqueue("b", [{"payload": [1]}])
            self.assertEqual(self.client.job_types(), ["a", "b"])
            self.assertEqual(c.counts("a")["pending"], 1)
        finally:
            decoded.close()

    def test_a_failed_registration_is_logged_and_the_enqueue_still_succeeds(self) -> None:
        class NoSadd:
            def __init__(self, inner):
                self.inner = inner

            def __getattr__(self, name):
                return getattr(self.inner, name)

            def sadd(self, *_args):
                raise ConnectionError("the control plane's slot is down")

        c = Client(NoSadd(self.redis), prefix=self.prefix)
        with self.assertLogs("batchjob_client", logging.WARNING) as logs:
            r = c.enqueue("t", [{"payload": 1}])
        self.assertEqual(r.added, 1)
        self.assertIn("could not be registered", logs.output[0])
        self.assertEqual(self.client.job_types(), [])

    def test_counts_and_dead_letters_as_core_lays_them_out(self) -> None:
        self.client.enqueue("t", [{"payload": i} for i in range(3)])
        k = type_keys(self.prefix, "t")
        # what core's release script leaves for an item that died (packages/core/lua/includes/fail.lua)
        self.redis.zadd(k["dead"], {"order-7": 1700000000000, "#9": 1700000000500})
        self.redis.hset(k["items"], mapping={"order-7": '{"n":7}', "#9": "not json"})
        self.redis.hset(
            k["fails"],
            mapping={
                "order-7": '{"attempts":3,"at":1,"error":"boom","how":"reported by the job","returns":1}',
                "#9": "old text record",
            },
        )
        self.redis.hset(k["stats"], mapping={"acquired": 5, "acked": 1, "died": 2, "enqueued": 3})
        c = self.client.counts("t")
        self.assertEqual(
            {n: c[n] for n in ("pending", "leased", "delayed", "dead", "total", "enqueued", "acked", "died")},
            {"pending": 3, "leased": 2, "delayed": 0, "dead": 2, "total": 7, "enqueued": 3, "acked": 1, "died": 2},
        )
        dead = self.client.list_dead("t")
        self.assertEqual([d.id for d in dead], ["#9", "order-7"])
        self.assertEqual((dead[1].payload, dead[1].attempts, dead[1].returns), ({"n": 7}, 3, 1))
        self.assertEqual((dead[1].error, dead[1].how, dead[1].died_at), ("boom", "reported by the job", 1700000000000))
        self.assertEqual((dead[0].payload, dead[0].attempts, dead[0].error), ("not json", 0, "old text record"))
        self.assertEqual([d.id for d in self.client.list_dead("t", offset=1, limit=1)], ["order-7"])
        self.assertEqual(self.client.list_dead("none"), [])

    def test_refuses_bad_options_and_names_with_what_is_allowed(self) -> None:
        with self.assertRaisesRegex(InvalidArgumentError, "invalid key prefix 'a b'"):
            Client(self.redis, prefix="a b")
        with self.assertRaisesRegex(InvalidArgumentError, "enqueue_batch must be an integer of at least 1"):
            Client(self.redis, enqueue_batch=0)
        with self.assertRaisesRegex(InvalidJobTypeError, "invalid job type name"):
            self.client.counts("a/b")
        with self.assertRaisesRegex(InvalidArgumentError, "limit must be an integer of at least 1"):
            self.client.list_dead("t", limit=0)
        with self.assertRaisesRegex(Exception, r"item 0: payload is 1152921504606846976, an integer beyond 2\^53"):
            self.client.enqueue("t", [{"payload": 2**60}])
        with self.assertRaisesRegex(Exception, r"item 0: payload is not JSON-serialisable: payload\[0\] contains itself"):
            loop: list = []
            loop.append(loop)
            self.client.enqueue("t", [{"payload": loop}])
        self.assertEqual(keys_under(self.redis, self.prefix), [])


if __name__ == "__main__":
    unittest.main()
