<?php

declare(strict_types=1);

namespace Batchjob\Client;

/**
 * A chunk as a per-chunk worker handler gets it. `begin($id)` says which item
 * it works on (blamed alone if the process dies before that item's result);
 * `report(...)` settles an item at once, kept even if the chunk fails later.
 */
final class WorkerChunk
{
    /** @param list<WorkerItem> $items */
    public function __construct(
        public readonly string $chunkId,
        public readonly string $jobType,
        public readonly array $items,
        private readonly \Closure $write,
    ) {
    }

    public function begin(string $id): void
    {
        ($this->write)(['running' => $id], true);
    }

    public function report(string $id, bool $ok = true, ?string $error = null, ?bool $retry = null, ?float $delayMs = null): void
    {
        ($this->write)(Worker::result($id, $ok, $error, $retry, $delayMs), false);
    }
}
