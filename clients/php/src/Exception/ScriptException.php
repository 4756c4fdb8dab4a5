<?php

declare(strict_types=1);

namespace Batchjob\Client\Exception;

use Batchjob\Client\ErrorCode;

/** The enqueue script failed for another reason than bad input. */
final class ScriptException extends BatchjobException
{
    public function __construct(string $message, ?\Throwable $previous = null)
    {
        parent::__construct(ErrorCode::SCRIPT_FAILED, $message, $previous);
    }
}
