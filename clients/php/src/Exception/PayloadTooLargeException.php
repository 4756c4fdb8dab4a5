<?php

declare(strict_types=1);

namespace Batchjob\Client\Exception;

use Batchjob\Client\ErrorCode;

/** A payload over maxPayloadBytes of JSON. */
final class PayloadTooLargeException extends BatchjobException
{
    public function __construct(string $message, ?\Throwable $previous = null)
    {
        parent::__construct(ErrorCode::PAYLOAD_TOO_LARGE, $message, $previous);
    }
}
