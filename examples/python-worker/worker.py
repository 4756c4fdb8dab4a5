#!/usr/bin/env python3
"""A long-lived batchjob worker in Python for the `process` launcher: the worker
daemon starts it once per worker and streams chunks to it; `run` calls
`handle` per item. Raising fails that item alone (ItemFailed with retry=False:
straight to the dead letters); anything printed goes to the worker's log.

Needs batchjob_client.worker (standard library only): `pip install
clients/python`, or PYTHONPATH as in batchjob.config.json."""
import re

from batchjob_client.worker import ItemFailed, run

# expensive setup runs once per process, not once per chunk
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


def handle(item):
    """One CRM record: {"email": ..., "name": ...}."""
    record = item.payload if isinstance(item.payload, dict) else {}
    email = record.get("email")
    if not email:
        raise ItemFailed("no email", retry=False)
    if not EMAIL.match(email):
        raise ItemFailed(f"not an email address: {email!r}", retry=False)
    # ... the real work: export the record, call an API ...


if __name__ == "__main__":
    run(handle)
