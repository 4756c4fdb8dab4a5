<?php

declare(strict_types=1);

namespace Batchjob\Client\Exception;

use Batchjob\Client\ErrorCode;

/** The enqueue script was called with a protocol version it does not speak. */
final class ProtocolVersionException extends BatchjobException
{
    public function __construct(string $message, ?\Throwable $previous = null)
    {
        parent::__construct(ErrorCode::PROTOCOL_VERSION, $message, $previous);
    }
}
