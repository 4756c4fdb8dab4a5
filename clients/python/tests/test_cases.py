"""The shared enqueue cases (test/fixtures/enqueue-cases.json), on the Python client: the same
table drives core's and the PHP client's tests, so the three validate, dedupe and store alike."""

from __future__ import annotations

import re
import unittest

from batchjob_client import PROTOCOL_VERSION, BatchjobError, Client

from .support import connect, decode, fresh_prefix, keys_under, load_cases

TABLE = load_cases()


class SharedCases(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.redis = connect()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.redis.close()

    def test_protocol_version_is_the_tables(self) -> None:
        self.assertEqual(PROTOCOL_VERSION, TABLE["protocolVersion"])

    def assert_ids(self, expected: list, got: list[str]) -> None:
        self.assertEqual(len(got), len(expected), got)
        for want, have in zip(expected, got):
            if want == "#":
                self.assertRegex(have, r"^#\d+$")
            else:
                self.assertEqual(have, want)

    def run_case(self, case: dict) -> None:
        prefix = fresh_prefix()
        options = {}
        if "maxPayloadBytes" in case:
            options["max_payload_bytes"] = case["maxPayloadBytes"]
        if "enqueueBatch" in case:
            options["enqueue_batch"] = case["enqueueBatch"]
        client = Client(self.redis, prefix=prefix, **options)
        for call in case["calls"]:
            want = decode(call["expect"])
            job_type, items = decode(call["type"]), decode(call["items"])
            if "error" in want:
                with self.assertRaises(BatchjobError) as caught:
                    client.enqueue(job_type, items)
                self.assertEqual(caught.exception.code, want["error"], str(caught.exception))
                for text in want.get("message", []):
                    self.assertIn(text, str(caught.exception))
            else:
                r = client.enqueue(job_type, items)
                self.assertEqual(r.added, want["added"])
                self.assertEqual(r.deduped, want["deduped"])
                self.assert_ids(want["ids"], r.ids)
        after = case.get("after", {})
        job_type = decode(case["calls"][0]["type"])
        if after.get("noKeys"):
            self.assertEqual(keys_under(self.redis, prefix), [])
        if "pending" in after:
            self.assertEqual(client.counts(job_type)["pending"], after["pending"])
        if "entries" in after:
            raw = self.redis.lrange(f"{prefix}:{{{job_type}}}:pending", 0, -1)
            entries = [e.decode("utf-8").split("\t") for e in raw]
            self.assertEqual([p for _, p in entries], [p for _, p in after["entries"]])
            self.assert_ids([i for i, _ in after["entries"]], [i for i, _ in entries])


def _add_cases() -> None:
    for n, case in enumerate(TABLE["cases"]):
        name = "test_case_%02d_%s" % (n, re.sub(r"\W+", "_", case["name"]).strip("_")[:60])
        setattr(SharedCases, name, lambda self, case=case: self.run_case(case))


_add_cases()
