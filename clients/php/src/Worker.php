<?php

declare(strict_types=1);

namespace Batchjob\Client;

/**
 * A worker loop for batchjob's `process` launcher (no extension needed but
 * json). The worker daemon starts your script once per worker and streams
 * chunks to it; `Worker::run($handler)` does the protocol (README, "process"
 * launcher):
 *   1. says {"ready":1} on stdout once your script has bootstrapped;
 *   2. reads one chunk per stdin line {"chunk":{"chunkId","jobType","items":[...]}};
 *   3. per item ('item'): writes {"running":id}, calls $handler(WorkerItem),
 *      writes {"id","ok":true} or, when it threw, {"id","ok":false,"error","retry"},
 *      and goes on with the next item; per chunk ('chunk'): calls
 *      $handler(WorkerChunk) once, which may report items itself or return results;
 *   4. writes {"done":chunkId} and waits for the next line; returns when stdin ends.
 * Output of your code (echo, print, PHP's warnings) goes to stderr, the daemon's log.
 */
final class Worker
{
    /** The protocol version of the process launcher this loop speaks. */
    public const PROTOCOL = 1;
    private const JSON_OUT = JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE | JSON_THROW_ON_ERROR;

    /** @var resource */
    private $in;
    /** @var resource */
    private $out;
    private string $pending = '';

    /**
     * @param resource $in
     * @param resource $out
     */
    private function __construct($in, $out)
    {
        $this->in = $in;
        $this->out = $out;
    }

    /**
     * Serves chunks until stdin ends. 'item': $handler(WorkerItem) per item,
     * done unless it throws (ItemFailed for a message, retry or delay of your
     * own). 'chunk': $handler(WorkerChunk) once per chunk; it returns null
     * (items it did not report are done), a list of result arrays
     * ['id' =>, 'ok' =>, 'error' =>?, 'retry' =>?, 'delayMs' =>?], or
     * [id => true | 'error text']; when it throws, the items it did not report
     * fail (retried; batchjob splits the chunk to find the culprit).
     *
     * @param resource|null $in
     * @param resource|null $out
     */
    public static function run(callable $handler, string $per = 'item', $in = null, $out = null): void
    {
        if ($per !== 'item' && $per !== 'chunk') {
            throw new \InvalidArgumentException("per must be 'item' or 'chunk', not '{$per}'");
        }
        // the protocol writes to STDOUT directly; echo and PHP's own messages go to stderr
        ini_set('display_errors', 'stderr');
        ob_start(static function (string $buffer): string {
            if ($buffer !== '') {
                fwrite(STDERR, $buffer);
            }
            return '';
        }, 1);
        $worker = new self($in ?? STDIN, $out ?? STDOUT);
        $worker->write(['ready' => self::PROTOCOL], true);
        while (($message = $worker->read()) !== null) {
            $chunk = $worker->chunkOf($message['chunk'] ?? null);
            $error = $per === 'item' ? $worker->runItems($chunk, $handler) : $worker->runChunk($chunk, $handler);
            $done = ['done' => $chunk->chunkId];
            if ($error !== null) {
                $done['error'] = $error;
            }
            $worker->write($done, true);
        }
        ob_end_flush();
    }

    /** A result line's fields; null ones are left out. */
    public static function result(string $id, bool $ok, ?string $error = null, ?bool $retry = null, ?float $delayMs = null): array
    {
        $r = ['id' => $id, 'ok' => $ok];
        if ($error !== null) {
            $r['error'] = $error;
        }
        if ($retry !== null) {
            $r['retry'] = $retry;
        }
        if ($delayMs !== null) {
            $r['delayMs'] = $delayMs;
        }
        return $r;
    }

    /** One line: the error's class, message and where it was thrown. */
    public static function describe(\Throwable $e): string
    {
        return sprintf('%s: %s (%s:%d)', $e::class, $e->getMessage(), basename($e->getFile()), $e->getLine());
    }

    private function write(array $message, bool $flush): void
    {
        $this->pending .= json_encode($message, self::JSON_OUT) . "\n";
        if ($flush) {
            fwrite($this->out, $this->pending);
            fflush($this->out);
            $this->pending = '';
        }
    }

    private function read(): ?array
    {
        do {
            $line = fgets($this->in);
            if ($line === false) {
                return null;
            }
        } while (trim($line) === '');
        return json_decode($line, true, 512, JSON_THROW_ON_ERROR);
    }

    private function chunkOf(mixed $raw): WorkerChunk
    {
        if (!is_array($raw) || !is_string($raw['chunkId'] ?? null) || !is_array($raw['items'] ?? null)) {
            throw new \UnexpectedValueException('batchjob: a stdin line is not a chunk {"chunk":{"chunkId","jobType","items"}}');
        }
        $items = [];
        foreach ($raw['items'] as $i) {
            $items[] = new WorkerItem((string) $i['id'], $i['payload'] ?? null, (int) ($i['attempts'] ?? 0));
        }
        $write = fn (array $message, bool $flush) => $this->write($message, $flush);
        return new WorkerChunk($raw['chunkId'], (string) ($raw['jobType'] ?? ''), $items, \Closure::fromCallable($write));
    }

    private function runItems(WorkerChunk $chunk, callable $handler): ?string
    {
        foreach ($chunk->items as $item) {
            $this->write(['running' => $item->id], true);
            try {
                $handler($item);
                $this->write(self::result($item->id, true), false);
            } catch (\Throwable $e) {
                // a bad item fails alone; the loop goes on
                if (!$e instanceof ItemFailed) {
                    fwrite(STDERR, "batchjob: item {$item->id} failed: " . self::describe($e) . "\n");
                }
                $this->write(self::failure($item->id, $e), false);
            }
        }
        return null;
    }

    private function runChunk(WorkerChunk $chunk, callable $handler): ?string
    {
        try {
            $returned = $handler($chunk);
        } catch (\Throwable $e) {
            fwrite(STDERR, "batchjob: chunk {$chunk->chunkId} failed: " . self::describe($e) . "\n");
            return $e instanceof ItemFailed ? $e->getMessage() : self::describe($e);
        }
        foreach ($returned ?? [] as $key => $value) {
            if (is_array($value)) {
                $this->write($value, false);
            } else {
                $this->write(self::result((string) $key, $value === true, $value === true ? null : (string) $value), false);
            }
        }
        return null;
    }

    private static function failure(string $id, \Throwable $e): array
    {
        if ($e instanceof ItemFailed) {
            return self::result($id, false, $e->getMessage(), $e->retry, $e->delayMs);
        }
        return self::result($id, false, self::describe($e), true);
    }
}
