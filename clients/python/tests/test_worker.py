"""The worker loop of the process launcher (batchjob_client.worker) over in-memory streams: a line
per item, a bad item fails alone, a done line per chunk, per-chunk results in each accepted form, a
raising chunk handler, and no redis-py needed to import it."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import unittest
from pathlib import Path

from batchjob_client.worker import ItemFailed, run


def serve(handler, chunks, per="item"):
    """Runs the loop over ``chunks`` (a blank line between them); returns the lines it wrote, decoded."""
    stdin = io.BytesIO(b"".join(json.dumps({"chunk": c}).encode() + b"\n\n" for c in chunks))
    stdout = io.BytesIO()
    run(handler, per=per, stdin=stdin, stdout=stdout)
    return [json.loads(line) for line in stdout.getvalue().splitlines()]


def chunk(chunk_id, *payloads):
    return {"chunkId": chunk_id, "jobType": "t", "items": [{"id": f"i{n}", "payload": p, "attempts": n} for n, p in enumerate(payloads)]}


class WorkerLoopTest(unittest.TestCase):
    def test_per_item(self) -> None:
        seen = []

        def handle(item):
            seen.append((item.id, item.attempts))
            if item.payload.get("bad"):
                raise KeyError("boom")
            if item.payload.get("gone"):
                raise ItemFailed("gone for good", retry=False, delay_ms=None)
            if item.payload.get("later"):
                raise ItemFailed("busy", delay_ms=500)

        lines = serve(handle, [chunk("c1", {}, {"bad": True}, {"gone": True}, {"later": True}), chunk("c2")])
        self.assertEqual(lines[0], {"ready": 1})
        self.assertEqual(lines[1:3], [{"running": "i0"}, {"id": "i0", "ok": True}])
        self.assertEqual(lines[3], {"running": "i1"})
        self.assertEqual((lines[4]["ok"], lines[4]["retry"]), (False, True))
        self.assertRegex(lines[4]["error"], r"^KeyError: 'boom' \(test_worker\.py:\d+ in handle\)$")
        self.assertEqual(lines[6], {"id": "i2", "ok": False, "error": "gone for good", "retry": False})
        self.assertEqual(lines[8], {"id": "i3", "ok": False, "error": "busy", "retry": True, "delayMs": 500})
        self.assertEqual(lines[9:], [{"done": "c1"}, {"done": "c2"}])
        self.assertEqual(seen, [("i0", 0), ("i1", 1), ("i2", 2), ("i3", 3)])

    def test_per_chunk(self) -> None:
        def handle(c):
            if c.chunk_id == "c1":
                return {"i0": True, "i1": "no stock"}
            if c.chunk_id == "c2":
                return [{"id": "i0", "ok": True}]
            c.report("i0")
            c.begin("i1")
            raise ValueError("stuck")

        lines = serve(handle, [chunk("c1", 1, 2), chunk("c2", 1, 2), chunk("c3", 1, 2)], per="chunk")
        self.assertEqual(
            lines[:7],
            [
                {"ready": 1},
                {"id": "i0", "ok": True},
                {"id": "i1", "ok": False, "error": "no stock"},
                {"done": "c1"},
                {"id": "i0", "ok": True},
                {"done": "c2"},
                {"id": "i0", "ok": True},
            ],
        )
        self.assertEqual(lines[7], {"running": "i1"})
        self.assertEqual(lines[8]["done"], "c3")
        self.assertRegex(lines[8]["error"], r"^ValueError: stuck \(")
        self.assertEqual(len(lines), 9)

    def test_refuses_another_per(self) -> None:
        with self.assertRaises(ValueError):
            run(lambda item: None, per="batch", stdin=io.BytesIO(), stdout=io.BytesIO())

    def test_imports_without_redis(self) -> None:
        code = "import sys; sys.modules['redis'] = None; import batchjob_client.worker; print('ok')"
        r = subprocess.run(
            [sys.executable, "-c", code], cwd=Path(__file__).parent.parent, capture_output=True, text=True, timeout=60
        )
        self.assertEqual(r.stdout.strip(), "ok", r.stderr)


if __name__ == "__main__":
    unittest.main()
