<?php

declare(strict_types=1);

namespace Batchjob\Client;

/** What an enqueue did. */
final class EnqueueResult
{
    /**
     * @param int $added items added (deduped ones not counted)
     * @param list<string> $ids the id of each input item, in input order (deduped ones included)
     * @param list<string> $deduped caller ids still queued, so their items were skipped
     */
    public function __construct(
        public readonly int $added,
        public readonly array $ids,
        public readonly array $deduped,
    ) {
    }
}
