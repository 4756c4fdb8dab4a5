#!/usr/bin/env python3
"""A batchjob spawn job in Python: the chunk arrives as JSON on stdin,
one JSON line per item goes to stdout. Items without a line follow the exit
code (0: done, else retried); stderr goes to the worker's log."""
import json
import sys

chunk = json.load(sys.stdin)  # {"chunkId", "jobType", "items": [{"id", "payload", "attempts"}]}
for item in chunk["items"]:
    record = item["payload"]
    if "email" not in record:
        # a permanent failure: straight to the dead-letter set
        print(json.dumps({"id": item["id"], "ok": False, "error": "no email", "retry": False}), flush=True)
        continue
    # ... the real work ...
    print(json.dumps({"id": item["id"], "ok": True}), flush=True)
