"""batchjob producer client for Python (docs/protocol.md)."""

from .client import (
    DEFAULT_ENQUEUE_BATCH,
    DEFAULT_MAX_PAYLOAD_BYTES,
    DEFAULT_PREFIX,
    PROTOCOL_VERSION,
    Client,
    DeadItem,
    EnqueueResult,
    enqueue_script,
    type_keys,
)
from .errors import (
    BatchjobError,
    ErrorCode,
    InvalidArgumentError,
    InvalidItemIdError,
    InvalidJobTypeError,
    InvalidPayloadError,
    PayloadTooLargeError,
    ProtocolVersionError,
    ScriptError,
    error_from_lua,
)

__all__ = [
    "DEFAULT_ENQUEUE_BATCH",
    "DEFAULT_MAX_PAYLOAD_BYTES",
    "DEFAULT_PREFIX",
    "PROTOCOL_VERSION",
    "BatchjobError",
    "Client",
    "DeadItem",
    "EnqueueResult",
    "ErrorCode",
    "InvalidArgumentError",
    "InvalidItemIdError",
    "InvalidJobTypeError",
    "InvalidPayloadError",
    "PayloadTooLargeError",
    "ProtocolVersionError",
    "ScriptError",
    "enqueue_script",
    "error_from_lua",
    "type_keys",
]
