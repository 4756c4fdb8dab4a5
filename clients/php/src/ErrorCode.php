<?php

declare(strict_types=1);

namespace Batchjob\Client;

/** The error codes of core's catalogue (packages/core/src/errors.ts) this client raises. */
final class ErrorCode
{
    public const INVALID_JOB_TYPE = 'BJ_ERR_INVALID_JOB_TYPE';
    public const INVALID_ARGUMENT = 'BJ_ERR_INVALID_ARGUMENT';
    public const INVALID_PAYLOAD = 'BJ_ERR_INVALID_PAYLOAD';
    public const PAYLOAD_TOO_LARGE = 'BJ_ERR_PAYLOAD_TOO_LARGE';
    public const INVALID_ITEM_ID = 'BJ_ERR_INVALID_ITEM_ID';
    public const SCRIPT_FAILED = 'BJ_ERR_SCRIPT_FAILED';
    public const PROTOCOL_VERSION = 'BJ_ERR_PROTOCOL_VERSION';
    public const ENQUEUE_PARTIAL = 'BJ_ERR_ENQUEUE_PARTIAL';
}
