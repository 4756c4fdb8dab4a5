<?php

declare(strict_types=1);

namespace Batchjob\Client;

/**
 * Throw from a worker handler (Worker::run) to fail an item with a message of
 * your own: `retry: false` sends it straight to the dead letters, `delayMs`
 * overrides the backoff before its retry. Any other Throwable fails the item
 * too, retried, with its class and message as the error.
 */
class ItemFailed extends \RuntimeException
{
    public function __construct(
        string $message,
        public readonly bool $retry = true,
        public readonly ?float $delayMs = null,
    ) {
        parent::__construct($message);
    }
}
