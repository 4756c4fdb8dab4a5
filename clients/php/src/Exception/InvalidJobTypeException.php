<?php

declare(strict_types=1);

namespace Batchjob\Client\Exception;

use Batchjob\Client\ErrorCode;

/** A job type name that is not 1 to 64 characters of A-Z a-z 0-9 . _ - (or is . or ..). */
final class InvalidJobTypeException extends BatchjobException
{
    public function __construct(string $message, ?\Throwable $previous = null)
    {
        parent::__construct(ErrorCode::INVALID_JOB_TYPE, $message, $previous);
    }
}
