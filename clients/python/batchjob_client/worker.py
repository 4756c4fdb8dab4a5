"""A worker loop for batchjob's ``process`` launcher (standard library only).

The worker daemon starts your script once per worker and streams chunks to it;
``run(handler)`` does the protocol (README, "process" launcher):
  1. says ``{"ready":1}`` on stdout once your module is loaded;
  2. reads one chunk per stdin line ``{"chunk":{"chunkId","jobType","items":[...]}}``;
  3. per item (``per="item"``): writes ``{"running":id}``, calls ``handler(item)``,
     writes ``{"id","ok"}`` or, when it raised, ``{"id","ok":false,"error","retry"}``,
     and goes on with the next item; per chunk (``per="chunk"``): calls
     ``handler(chunk)`` once, which may report items itself or return results;
  4. writes ``{"done":chunkId}`` and waits for the next line; returns when stdin ends.
Anything your code prints goes to stderr (the daemon's log), never into the protocol.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any, BinaryIO, Callable, Iterable, Mapping, Optional

PROTOCOL = 1
"""The protocol version of the process launcher this loop speaks."""

__all__ = ["PROTOCOL", "Chunk", "Item", "ItemFailed", "run"]


class ItemFailed(Exception):
    """Raise from a handler to fail an item with a message of your own.

    ``retry=False`` sends it straight to the dead letters; ``delay_ms``
    overrides the backoff before its retry."""

    def __init__(self, error: str, retry: bool = True, delay_ms: Optional[float] = None) -> None:
        super().__init__(error)
        self.error = error
        self.retry = retry
        self.delay_ms = delay_ms


class Item:
    """One item of a chunk: ``id``, ``payload`` (parsed JSON) and ``attempts`` so far."""

    __slots__ = ("id", "payload", "attempts")

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.id: str = raw["id"]
        self.payload: Any = raw.get("payload")
        self.attempts: int = raw.get("attempts", 0)

    def __repr__(self) -> str:
        return f"Item(id={self.id!r}, attempts={self.attempts})"


class Chunk:
    """A chunk as a per-chunk handler gets it. ``begin(id)`` says which item it
    works on (blamed alone if the process dies before that item's result);
    ``report(...)`` settles an item at once, kept even if the chunk fails later."""

    def __init__(self, raw: Mapping[str, Any], write: Callable[[Mapping[str, Any], bool], None]) -> None:
        self.chunk_id: str = raw["chunkId"]
        self.job_type: str = raw["jobType"]
        self.items = [Item(i) for i in raw["items"]]
        self._write = write

    def begin(self, item_id: str) -> None:
        self._write({"running": item_id}, True)

    def report(
        self, item_id: str, ok: bool = True, error: Optional[str] = None, retry: Optional[bool] = None,
        delay_ms: Optional[float] = None,
    ) -> None:
        self._write(_result(item_id, ok, error, retry, delay_ms), False)


def _result(item_id: str, ok: bool, error: Optional[str], retry: Optional[bool], delay_ms: Optional[float]) -> dict:
    r: dict = {"id": item_id, "ok": bool(ok)}
    if error is not None:
        r["error"] = str(error)
    if retry is not None:
        r["retry"] = bool(retry)
    if delay_ms is not None:
        r["delayMs"] = delay_ms
    return r


def _describe(err: BaseException) -> str:
    """One line: the error and where it was raised."""
    text = f"{type(err).__name__}: {err}"
    frames = traceback.extract_tb(err.__traceback__)
    if frames:
        last = frames[-1]
        text += f" ({os.path.basename(last.filename)}:{last.lineno} in {last.name})"
    return text


def _failure(item_id: str, err: Exception) -> dict:
    if isinstance(err, ItemFailed):
        return _result(item_id, False, err.error, err.retry, err.delay_ms)
    return _result(item_id, False, _describe(err), True, None)


class _Protocol:
    """The two ends: chunk lines in, protocol lines out (buffered, flushed when asked)."""

    def __init__(self, stdin: BinaryIO, out: BinaryIO) -> None:
        self.stdin = stdin
        self.out = out

    def write(self, message: Mapping[str, Any], flush: bool) -> None:
        self.out.write(json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\n")
        if flush:
            self.out.flush()

    def read(self) -> Optional[dict]:
        line = self.stdin.readline()
        while line and not line.strip():
            line = self.stdin.readline()
        if not line:
            return None
        return json.loads(line)


def _own_stdout() -> BinaryIO:
    """The protocol keeps the real stdout; fd 1 (print, C extensions, child processes) becomes stderr."""
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    return out


def _run_items(chunk: Chunk, handler: Callable[[Item], Any], proto: _Protocol) -> None:
    for item in chunk.items:
        proto.write({"running": item.id}, True)
        try:
            handler(item)
            proto.write(_result(item.id, True, None, None, None), False)
        except Exception as err:  # a bad item fails alone; the loop goes on
            if not isinstance(err, ItemFailed):
                print(f"batchjob: item {item.id} failed: {_describe(err)}", file=sys.stderr, flush=True)
            proto.write(_failure(item.id, err), False)


def _run_chunk(chunk: Chunk, handler: Callable[[Chunk], Any], proto: _Protocol) -> Optional[str]:
    """Calls the handler; returns the error of a handler that raised (its unreported items fail)."""
    try:
        returned = handler(chunk)
    except Exception as err:
        print(f"batchjob: chunk {chunk.chunk_id} failed: {_describe(err)}", file=sys.stderr, flush=True)
        return err.error if isinstance(err, ItemFailed) else _describe(err)
    for r in _results_of(returned):
        proto.write(r, False)
    return None


def _results_of(returned: Any) -> Iterable[Mapping[str, Any]]:
    """None (every unreported item done), an iterable of result dicts, or ``{id: True | "error"}``."""
    if returned is None:
        return []
    if isinstance(returned, Mapping):
        return [_result(k, v is True, None if v is True else str(v), None, None) for k, v in returned.items()]
    return list(returned)


def run(handler: Callable[[Any], Any], per: str = "item", stdin: Optional[BinaryIO] = None,
        stdout: Optional[BinaryIO] = None) -> None:
    """Serves chunks until stdin ends. ``per="item"``: ``handler(item)`` per item, done
    unless it raises (``ItemFailed`` for a message, ``retry`` or ``delay_ms`` of your own).
    ``per="chunk"``: ``handler(chunk)`` once per chunk; it returns None (items it did not
    report are done), result dicts ``{"id","ok","error"?,"retry"?,"delayMs"?}``, or
    ``{id: True | "error text"}``; when it raises, the items it did not report fail
    (retried; batchjob splits the chunk to find the culprit)."""
    if per not in ("item", "chunk"):
        raise ValueError(f'per must be "item" or "chunk", not {per!r}')
    proto = _Protocol(stdin or sys.stdin.buffer, stdout or _own_stdout())
    proto.write({"ready": PROTOCOL}, True)
    while True:
        message = proto.read()
        if message is None:
            return
        chunk = Chunk(message["chunk"], proto.write)
        error = _run_items(chunk, handler, proto) if per == "item" else _run_chunk(chunk, handler, proto)
        done: dict = {"done": chunk.chunk_id}
        if error is not None:
            done["error"] = error
        proto.write(done, True)
