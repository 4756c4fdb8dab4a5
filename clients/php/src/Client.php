<?php

declare(strict_types=1);

namespace Batchjob\Client;

use Batchjob\Client\Exception\BatchjobException;
use Batchjob\Client\Exception\InvalidArgumentException;

/**
 * A batchjob producer for PHP services, on phpredis: enqueues items through
 * the producer protocol (docs/protocol.md: core's enqueue script, shipped
 * here as enqueue.lua, byte for byte), and reads a job type's counts and
 * dead letters. An enqueue:
 *   1. checks every item before anything is written (Validator);
 *   2. calls the script once per `enqueueBatch` items (EVALSHA, EVAL on
 *      NOSCRIPT); several calls run in one MULTI, so they land together;
 *   3. registers the job type in the control plane's `types` set (what
 *      `batchjob status` lists), once per client, best effort.
 */
final class Client
{
    /** The producer protocol version this client speaks (the enqueue script's ARGV[1]). */
    public const PROTOCOL_VERSION = 2;
    public const DEFAULT_PREFIX = 'bj';
    public const DEFAULT_MAX_PAYLOAD_BYTES = 512 * 1024;
    public const DEFAULT_ENQUEUE_BATCH = 5000;
    private const STAT_FIELDS = [
        'enqueued', 'deduped', 'acquired', 'acked', 'retried', 'died',
        'returned', 'split', 'grouped', 'reclaimed', 'revived', 'purged',
    ];

    private readonly string $script;
    private readonly string $sha;
    /** @var array<string, true> types registered in `types` by this client */
    private array $registered = [];

    public function __construct(
        private readonly \Redis|\RedisCluster $redis,
        public readonly string $prefix = self::DEFAULT_PREFIX,
        public readonly int $maxPayloadBytes = self::DEFAULT_MAX_PAYLOAD_BYTES,
        public readonly int $enqueueBatch = self::DEFAULT_ENQUEUE_BATCH,
    ) {
        if (preg_match('/^[A-Za-z0-9._:-]{1,32}$/D', $prefix) !== 1) {
            throw new InvalidArgumentException(
                'invalid key prefix ' . json_encode($prefix) . ': use 1 to 32 characters from A-Z a-z 0-9 . _ : -',
            );
        }
        if ($maxPayloadBytes < 64) {
            throw new InvalidArgumentException("maxPayloadBytes must be at least 64, got {$maxPayloadBytes}");
        }
        if ($enqueueBatch < 1) {
            throw new InvalidArgumentException("enqueueBatch must be at least 1, got {$enqueueBatch}");
        }
        // phpredis would prefix the keys again or serialise what the scripts read
        $optPrefix = $redis->getOption(\Redis::OPT_PREFIX);
        if ($optPrefix !== null && $optPrefix !== '' && $optPrefix !== false) {
            throw new InvalidArgumentException(
                'the Redis connection has OPT_PREFIX set: leave it unset and give the prefix to the Client',
            );
        }
        if ($redis->getOption(\Redis::OPT_SERIALIZER) !== \Redis::SERIALIZER_NONE) {
            throw new InvalidArgumentException('the Redis connection has OPT_SERIALIZER set: use SERIALIZER_NONE');
        }
        $this->script = self::script();
        $this->sha = sha1($this->script);
    }

    /** The text of the enqueue script (core's, assembled as core runs it). */
    public static function script(): string
    {
        $text = file_get_contents(__DIR__ . '/enqueue.lua');
        if ($text === false) {
            throw new \RuntimeException('cannot read ' . __DIR__ . '/enqueue.lua');
        }
        return $text;
    }

    /**
     * The keys of one job type the producer protocol names (docs/protocol.md).
     *
     * @return array<string, string>
     */
    public static function typeKeys(string $prefix, string $jobType): array
    {
        $keys = [];
        foreach (['pending', 'ids', 'seq', 'stats', 'activity', 'wake', 'since', 'delayed', 'dead', 'leases', 'items', 'fails'] as $n) {
            $keys[$n] = "{$prefix}:{{$jobType}}:{$n}";
        }
        return $keys;
    }

    /** SET of every job type enqueued to (the control plane's slot). */
    public function typesKey(): string
    {
        return "{$this->prefix}:{{$this->prefix}:control}:types";
    }

    /**
     * Adds items, each `['payload' => <JSON value>]` or `['id' => '<caller id>', 'payload' => ...]`.
     *
     * A caller id dedupes: an item whose id is still queued (pending, leased,
     * delayed or dead) is skipped and its id listed in `deduped`. Other items
     * get a generated id (`#<n>`). Every item is checked first; one bad item
     * throws (InvalidPayloadException, InvalidItemIdException,
     * PayloadTooLargeException, ...) and nothing is written.
     *
     * @param list<array{id?: ?string, payload: mixed}> $items
     */
    public function enqueue(string $jobType, mixed $items): EnqueueResult
    {
        Validator::checkJobType($jobType);
        [$ids, $payloads] = Validator::encodeItems($items, $this->maxPayloadBytes);
        $n = count($ids);
        if ($n === 0) {
            return new EnqueueResult(0, [], []);
        }
        $k = self::typeKeys($this->prefix, $jobType);
        $keys = [$k['pending'], $k['ids'], $k['seq'], $k['stats'], $k['activity'], $k['wake'], $k['since']];
        $ranges = [];
        for ($i = 0; $i < $n; $i += $this->enqueueBatch) {
            $ranges[] = [$i, min($n, $i + $this->enqueueBatch)];
        }
        $calls = array_map(fn (array $r) => self::args($ids, $payloads, $r[0], $r[1]), $ranges);
        $replies = count($calls) === 1 ? [$this->run($keys, $calls[0])] : $this->runAll($keys, $calls);
        $added = 0;
        $deduped = [];
        foreach ($ranges as $r => [$from, $to]) {
            [$count, $firstSeq, $dup] = $replies[$r];
            $added += (int) $count;
            foreach ($dup as $d) {
                $deduped[] = (string) $d;
            }
            $seq = (int) $firstSeq;
            for ($i = $from; $i < $to; $i++) {
                if ($ids[$i] === '') {
                    $ids[$i] = '#' . $seq++;
                }
            }
        }
        $this->register($jobType);
        return new EnqueueResult($added, $ids, $deduped);
    }

    /**
     * @param list<string> $ids
     * @param list<string> $payloads
     * @return list<int|string>
     */
    private static function args(array $ids, array $payloads, int $from, int $to): array
    {
        $args = [self::PROTOCOL_VERSION, 0];
        for ($i = $from; $i < $to; $i++) {
            if ($ids[$i] === '') {
                $args[1]++;
            }
            $args[] = $ids[$i];
            $args[] = $payloads[$i];
        }
        return $args;
    }

    /**
     * One script call: EVALSHA, and EVAL when Redis does not have the script yet.
     *
     * @param list<string> $keys
     * @param list<int|string> $args
     */
    private function run(array $keys, array $args): mixed
    {
        $all = array_merge($keys, $args);
        try {
            $this->redis->clearLastError();
            $reply = $this->redis->evalSha($this->sha, $all, count($keys));
            if ($reply === false && str_starts_with((string) $this->redis->getLastError(), 'NOSCRIPT')) {
                $this->redis->clearLastError();
                $reply = $this->redis->eval($this->script, $all, count($keys));
            }
        } catch (\RedisException $e) {
            throw BatchjobException::fromLua($e->getMessage(), 'enqueue', $e);
        }
        if (!is_array($reply)) {
            throw BatchjobException::fromLua((string) ($this->redis->getLastError() ?? 'no reply'), 'enqueue');
        }
        return $reply;
    }

    /**
     * Several script calls in one MULTI (EVAL: a script missing from the cache cannot fail one of them alone).
     *
     * @param list<string> $keys
     * @param list<list<int|string>> $calls
     * @return list<mixed>
     */
    private function runAll(array $keys, array $calls): array
    {
        try {
            $this->redis->clearLastError();
            $this->redis->multi();
            foreach ($calls as $args) {
                $this->redis->eval($this->script, array_merge($keys, $args), count($keys));
            }
            $replies = $this->redis->exec();
        } catch (\RedisException $e) {
            throw BatchjobException::fromLua($e->getMessage(), 'enqueue', $e);
        }
        if (!is_array($replies) || count($replies) !== count($calls) || in_array(false, $replies, true)) {
            throw BatchjobException::fromLua((string) ($this->redis->getLastError() ?? 'no reply'), 'enqueue');
        }
        return $replies;
    }

    /**
     * Adds the type to `types` once per client, after its items are queued. A
     * failure is logged, not thrown (the items are in: a caller retrying on an
     * error would queue them twice), and tried again on the next enqueue.
     */
    private function register(string $jobType): void
    {
        if (isset($this->registered[$jobType])) {
            return;
        }
        try {
            $ok = $this->redis->sAdd($this->typesKey(), $jobType) !== false;
            $why = $ok ? '' : (string) $this->redis->getLastError();
        } catch (\RedisException $e) {
            $ok = false;
            $why = $e->getMessage();
        }
        if ($ok) {
            $this->registered[$jobType] = true;
            return;
        }
        error_log(
            "batchjob: the items were enqueued, but job type {$jobType} could not be registered in "
            . "{$this->typesKey()} ({$why}); trying again on its next enqueue",
        );
    }

    /**
     * Every job type ever enqueued to, sorted.
     *
     * @return list<string>
     */
    public function jobTypes(): array
    {
        $types = array_map('strval', $this->redis->sMembers($this->typesKey()) ?: []);
        sort($types, SORT_STRING);
        return $types;
    }

    /**
     * A job type's counts, as core's `counts` gives them: pending, leased,
     * delayed, dead, chunks, total, and the lifetime counters (enqueued,
     * deduped, acquired, acked, retried, died, returned, split, grouped, ...).
     *
     * @return array<string, int>
     */
    public function counts(string $jobType): array
    {
        Validator::checkJobType($jobType);
        $k = self::typeKeys($this->prefix, $jobType);
        $r = $this->redis->multi()
            ->lLen($k['pending'])
            ->zCard($k['delayed'])
            ->zCard($k['dead'])
            ->zCard($k['leases'])
            ->hMGet($k['stats'], self::STAT_FIELDS)
            ->exec();
        if (!is_array($r) || count($r) !== 5) {
            throw BatchjobException::fromLua((string) ($this->redis->getLastError() ?? 'no reply'), 'counts');
        }
        [$pending, $delayed, $dead, $chunks, $stats] = $r;
        $stat = [];
        foreach (self::STAT_FIELDS as $f) {
            $stat[$f] = (int) ($stats[$f] ?? 0);
        }
        $leased = max(0, $stat['acquired'] - $stat['acked'] - $stat['retried'] - $stat['died'] - $stat['returned']);
        $waiting = (int) $pending + max(0, $stat['grouped']);
        return [
            ...$stat,
            'pending' => $waiting,
            'leased' => $leased,
            'delayed' => (int) $delayed,
            'dead' => (int) $dead,
            'chunks' => (int) $chunks,
            'total' => $waiting + $leased + (int) $delayed + (int) $dead,
        ];
    }

    /**
     * Dead items, newest first, with their last error and counts.
     *
     * @return list<DeadItem>
     */
    public function listDead(string $jobType, int $offset = 0, int $limit = 50): array
    {
        Validator::checkJobType($jobType);
        if ($offset < 0 || $limit < 1) {
            throw new InvalidArgumentException("listDead expects offset >= 0 and limit >= 1, got {$offset} and {$limit}");
        }
        $k = self::typeKeys($this->prefix, $jobType);
        $scored = $this->redis->zRevRange($k['dead'], $offset, $offset + $limit - 1, true) ?: [];
        if ($scored === []) {
            return [];
        }
        // numeric ids come back as integer array keys
        $ids = array_map('strval', array_keys($scored));
        $r = $this->redis->multi()->hMGet($k['items'], $ids)->hMGet($k['fails'], $ids)->exec();
        if (!is_array($r) || count($r) !== 2) {
            throw BatchjobException::fromLua((string) ($this->redis->getLastError() ?? 'no reply'), 'listDead');
        }
        [$payloads, $fails] = $r;
        $out = [];
        foreach ($ids as $id) {
            $fail = $fails[$id] ?? false;
            $fail = is_string($fail) ? $fail : null;
            $record = self::parseOr($fail, fn (string $raw) => ['error' => $raw]);
            $record = is_array($record) ? $record : [];
            $raw = $payloads[$id] ?? false;
            $out[] = new DeadItem(
                id: $id,
                payload: self::parseOr(is_string($raw) ? $raw : null, fn (string $text) => $text),
                attempts: preg_match('/^\{"attempts":(\d+)/', $fail ?? '', $m) === 1 ? (int) $m[1] : 0,
                returns: is_int($record['returns'] ?? null) ? $record['returns'] : 0,
                error: is_string($record['error'] ?? null) ? $record['error'] : null,
                how: is_string($record['how'] ?? null) ? $record['how'] : null,
                diedAt: (int) $scored[$id],
            );
        }
        return $out;
    }

    private static function parseOr(?string $text, callable $fallback): mixed
    {
        if ($text === null) {
            return null;
        }
        try {
            return json_decode($text, true, 512, JSON_THROW_ON_ERROR);
        } catch (\JsonException) {
            return $fallback($text);
        }
    }
}
