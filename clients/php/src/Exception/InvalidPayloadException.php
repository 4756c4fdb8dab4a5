<?php

declare(strict_types=1);

namespace Batchjob\Client\Exception;

use Batchjob\Client\ErrorCode;

/** An item that is no {id?, payload}, or a payload JSON cannot hold as it is. */
final class InvalidPayloadException extends BatchjobException
{
    public function __construct(string $message, ?\Throwable $previous = null)
    {
        parent::__construct(ErrorCode::INVALID_PAYLOAD, $message, $previous);
    }
}
