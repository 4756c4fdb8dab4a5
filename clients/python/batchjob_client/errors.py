"""The batchjob errors, with the same codes (``BJ_ERR_*``) as core's catalogue
(packages/core/src/errors.ts), and the mapping of the scripts' error replies
(``BJLUA:<n>:<detail>``, docs/protocol.md) to them."""

from __future__ import annotations

import re


class ErrorCode:
    INVALID_JOB_TYPE = "BJ_ERR_INVALID_JOB_TYPE"
    INVALID_ARGUMENT = "BJ_ERR_INVALID_ARGUMENT"
    INVALID_PAYLOAD = "BJ_ERR_INVALID_PAYLOAD"
    PAYLOAD_TOO_LARGE = "BJ_ERR_PAYLOAD_TOO_LARGE"
    INVALID_ITEM_ID = "BJ_ERR_INVALID_ITEM_ID"
    SCRIPT_FAILED = "BJ_ERR_SCRIPT_FAILED"
    PROTOCOL_VERSION = "BJ_ERR_PROTOCOL_VERSION"
    ENQUEUE_PARTIAL = "BJ_ERR_ENQUEUE_PARTIAL"


class BatchjobError(Exception):
    """Base class: ``code`` is the stable ``BJ_ERR_*`` code, the message says what was wrong."""

    code = ErrorCode.SCRIPT_FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidJobTypeError(BatchjobError):
    code = ErrorCode.INVALID_JOB_TYPE


class InvalidArgumentError(BatchjobError):
    code = ErrorCode.INVALID_ARGUMENT


class InvalidPayloadError(BatchjobError):
    code = ErrorCode.INVALID_PAYLOAD


class PayloadTooLargeError(BatchjobError):
    code = ErrorCode.PAYLOAD_TOO_LARGE


class InvalidItemIdError(BatchjobError):
    code = ErrorCode.INVALID_ITEM_ID


class ScriptError(BatchjobError):
    code = ErrorCode.SCRIPT_FAILED


class ProtocolVersionError(BatchjobError):
    """The enqueue script was called with a protocol version it does not speak."""

    code = ErrorCode.PROTOCOL_VERSION


class PartialEnqueueError(BatchjobError):
    """An enqueue of a type spread over shards where some shards' writes failed and others did not: the items of
    ``queued_ids`` are queued (``queued`` of them, deduped ones included), the others are not. The first failure
    is the ``__cause__``. Enqueuing all the items again is safe only for those with caller ids (they dedupe)."""

    code = ErrorCode.ENQUEUE_PARTIAL

    def __init__(self, message: str, queued_ids: list[str]) -> None:
        super().__init__(message)
        self.queued_ids = queued_ids
        self.queued = len(queued_ids)


# the scripts' error codes (LuaErrorCode in core)
_LUA_ERRORS = {1: InvalidArgumentError, 2: ProtocolVersionError}
_LUA_ERROR = re.compile(r"BJLUA:(\d+):(.*)$", re.S)


def error_from_lua(message: str, script: str) -> BatchjobError:
    """The typed error of a script's error reply; any other failure is a ScriptError."""
    m = _LUA_ERROR.search(message)
    cls = _LUA_ERRORS.get(int(m.group(1))) if m else None
    if m and cls:
        return cls(f"{script}: {m.group(2)}")
    return ScriptError(f"{script} failed: {message}")
