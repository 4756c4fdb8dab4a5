<?php
// A long-lived batchjob worker in PHP for the `process` launcher: the worker daemon starts it
// once per worker (the bootstrap below runs once, not once per chunk) and streams chunks to it;
// Worker::run calls the handler once per chunk here, so the items can be written in one go.
// It returns results for some items (['id', 'ok', 'error', 'retry'], or id => true | 'error');
// items it leaves out are done. A Throwable from the handler
// fails the items it did not report (retried; batchjob splits the chunk to find the culprit).
// Echo and PHP warnings go to the worker's log, never into the protocol.
declare(strict_types=1);

require __DIR__ . '/../../clients/php/src/autoload.php'; // or Composer's vendor/autoload.php

use Batchjob\Client\Worker;
use Batchjob\Client\WorkerChunk;

// bootstrap once: a framework, a database connection...
$seen = 0;

Worker::run(static function (WorkerChunk $chunk) use (&$seen): array {
    $results = [];
    $rows = [];
    foreach ($chunk->items as $item) {
        $sku = $item->payload['sku'] ?? null;
        if (!is_string($sku) || $sku === '') {
            // a permanent failure: straight to the dead letters
            $results[] = ['id' => $item->id, 'ok' => false, 'error' => 'no sku', 'retry' => false];
            continue;
        }
        $rows[] = [$sku, (int) ($item->payload['qty'] ?? 0)];
    }
    // ... the real work: one bulk write of $rows ...
    $seen += count($rows);
    return $results;
}, 'chunk');
