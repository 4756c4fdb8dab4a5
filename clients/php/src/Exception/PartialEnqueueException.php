<?php

declare(strict_types=1);

namespace Batchjob\Client\Exception;

use Batchjob\Client\ErrorCode;

/**
 * An enqueue of a type spread over shards where some shards' writes failed and others did not: the items of
 * `$queuedIds` are queued (`$queued` of them, deduped ones included), the others are not. The first failure is
 * the previous exception. Enqueuing all the items again is safe only for those with caller ids (they dedupe).
 */
final class PartialEnqueueException extends BatchjobException
{
    public readonly int $queued;

    /** @param list<string> $queuedIds */
    public function __construct(string $message, public readonly array $queuedIds, ?\Throwable $previous = null)
    {
        parent::__construct(ErrorCode::ENQUEUE_PARTIAL, $message, $previous);
        $this->queued = count($queuedIds);
    }
}
