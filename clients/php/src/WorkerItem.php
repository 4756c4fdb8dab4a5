<?php

declare(strict_types=1);

namespace Batchjob\Client;

/** One item of a chunk as a worker handler gets it: its id, payload (decoded JSON, objects as arrays) and attempts so far. */
final class WorkerItem
{
    public function __construct(
        public readonly string $id,
        public readonly mixed $payload,
        public readonly int $attempts,
    ) {
    }
}
