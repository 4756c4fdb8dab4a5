"""batchjob for Python: the producer client (docs/protocol.md, on redis-py) and,
in ``batchjob_client.worker``, the worker loop of the process launcher (standard
library only). The client's names load on first use, so a worker process needs
no redis-py."""

from typing import Any

from .errors import (
    BatchjobError,
    ErrorCode,
    InvalidArgumentError,
    InvalidItemIdError,
    InvalidJobTypeError,
    InvalidPayloadError,
    PartialEnqueueError,
    PayloadTooLargeError,
    ProtocolVersionError,
    ScriptError,
    error_from_lua,
)
from .shards import MAX_SHARDS, shard_of_key, shard_queue

__all__ = [
    "DEFAULT_ENQUEUE_BATCH",
    "DEFAULT_MAX_PAYLOAD_BYTES",
    "DEFAULT_PREFIX",
    "MAX_SHARDS",
    "PROTOCOL_VERSION",
    "PUBLISHED_SHARDS_SECONDS",
    "BatchjobError",
    "Client",
    "DeadItem",
    "EnqueueResult",
    "ErrorCode",
    "InvalidArgumentError",
    "InvalidItemIdError",
    "InvalidJobTypeError",
    "InvalidPayloadError",
    "PartialEnqueueError",
    "PayloadTooLargeError",
    "ProtocolVersionError",
    "ScriptError",
    "enqueue_script",
    "error_from_lua",
    "shard_of_key",
    "shard_queue",
    "type_keys",
]

_CLIENT_NAMES = frozenset(
    (
        "DEFAULT_ENQUEUE_BATCH",
        "DEFAULT_MAX_PAYLOAD_BYTES",
        "DEFAULT_PREFIX",
        "PROTOCOL_VERSION",
        "PUBLISHED_SHARDS_SECONDS",
        "Client",
        "DeadItem",
        "EnqueueResult",
        "enqueue_script",
        "type_keys",
    )
)


def __getattr__(name: str) -> Any:
    # PEP 562: the client module (and with it redis-py) is imported on first use
    if name in _CLIENT_NAMES:
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
