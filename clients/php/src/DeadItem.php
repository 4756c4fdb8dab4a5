<?php

declare(strict_types=1);

namespace Batchjob\Client;

/** A dead item with its last error, as core's listDead gives it. */
final class DeadItem
{
    public function __construct(
        public readonly string $id,
        /** The payload as decoded JSON (arrays for objects), or its raw text when it is not JSON. */
        public readonly mixed $payload,
        public readonly int $attempts,
        /** Times its host or daemon died (or lost its lease) while holding it. */
        public readonly int $returns,
        public readonly ?string $error,
        /** How the failure was pinned on this item. */
        public readonly ?string $how,
        /** When it died (ms since the epoch, Redis clock). */
        public readonly int $diedAt,
    ) {
    }
}
