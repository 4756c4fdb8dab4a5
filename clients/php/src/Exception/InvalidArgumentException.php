<?php

declare(strict_types=1);

namespace Batchjob\Client\Exception;

use Batchjob\Client\ErrorCode;

/** Arguments of the wrong shape (items that are no list, a bad option). */
final class InvalidArgumentException extends BatchjobException
{
    public function __construct(string $message, ?\Throwable $previous = null)
    {
        parent::__construct(ErrorCode::INVALID_ARGUMENT, $message, $previous);
    }
}
