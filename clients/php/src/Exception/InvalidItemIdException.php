<?php

declare(strict_types=1);

namespace Batchjob\Client\Exception;

use Batchjob\Client\ErrorCode;

/** A caller id that breaks the id rule. */
final class InvalidItemIdException extends BatchjobException
{
    public function __construct(string $message, ?\Throwable $previous = null)
    {
        parent::__construct(ErrorCode::INVALID_ITEM_ID, $message, $previous);
    }
}
