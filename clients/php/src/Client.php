<?php

declare(strict_types=1);

namespace Batchjob\Client;

use Batchjob\Client\Exception\BatchjobException;
use Batchjob\Client\Exception\InvalidArgumentException;
use Batchjob\Client\Exception\PartialEnqueueException;
use Batchjob\Client\Exception\ScriptException;

/**
 * A batchjob producer for PHP services, on phpredis: enqueues items through
 * the producer protocol (docs/protocol.md: core's enqueue script, shipped
 * here as enqueue.lua, byte for byte), and reads a job type's counts and
 * dead letters. An enqueue:
 *   1. checks every item before anything is written (Validator);
 *   2. for a type spread over shards, spreads the items as Shards::plan
 *      says (the shard count from the `shards` option, else from the config
 *      the leader published, read at most once a minute);
 *   3. per shard that gets items, calls the script with that shard's keys
 *      once per `enqueueBatch` items (EVALSHA, EVAL on NOSCRIPT); several
 *      calls of one shard run in one MULTI, so they land together;
 *   4. registers the job type in the control plane's `types` set (what
 *      `batchjob status` lists), once per client, best effort.
 */
final class Client
{
    /** The producer protocol version this client speaks (the enqueue script's ARGV[1]). */
    public const PROTOCOL_VERSION = 2;
    public const DEFAULT_PREFIX = 'bj';
    public const DEFAULT_MAX_PAYLOAD_BYTES = 512 * 1024;
    public const DEFAULT_ENQUEUE_BATCH = 5000;
    /** How old the shard counts read from the published config may get before they are read again (core's). */
    public const PUBLISHED_SHARDS_SECONDS = 60;
    private const ENQUEUE_KEYS = ['pending', 'ids', 'seq', 'stats', 'activity', 'wake', 'since'];

    private readonly string $script;
    private readonly string $sha;
    /** @var array<string, true> types registered in `types` by this client */
    private array $registered = [];
    /** @var array<string, int> the shard counts of the published config, as last read */
    private array $published = [];
    private ?float $publishedAt = null;
    private ?QueueReader $reader = null;
    /** @var (\Closure(): float)|null the clock of the published config's age in seconds (null: hrtime, monotonic) */
    private ?\Closure $clock = null;
    /** @var array<string, int> job type name => shards, as given */
    public readonly array $shards;

    /**
     * @param array<string, int> $shards job type name => how many shards it is spread over (1 to 64), as in the
     *   deployment's config; a type not named here takes its count from the config the leader published (1 when
     *   there is none)
     */
    public function __construct(
        private readonly \Redis|\RedisCluster $redis,
        public readonly string $prefix = self::DEFAULT_PREFIX,
        public readonly int $maxPayloadBytes = self::DEFAULT_MAX_PAYLOAD_BYTES,
        public readonly int $enqueueBatch = self::DEFAULT_ENQUEUE_BATCH,
        array $shards = [],
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
        $this->shards = Shards::checkOption($shards);
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
     * The keys of one job type (of its shard `$shard`: `{T#i}`) the producer protocol names (docs/protocol.md).
     *
     * @return array<string, string>
     */
    public static function typeKeys(string $prefix, string $jobType, int $shard = 0): array
    {
        $queue = Shards::queue($jobType, $shard);
        $keys = [];
        foreach (['pending', 'ids', 'seq', 'stats', 'activity', 'wake', 'since', 'delayed', 'dead', 'leases', 'items', 'fails'] as $n) {
            $keys[$n] = "{$prefix}:{{$queue}}:{$n}";
        }
        return $keys;
    }

    /** SET of every job type enqueued to (the control plane's slot). */
    public function typesKey(): string
    {
        return "{$this->prefix}:{{$this->prefix}:control}:types";
    }

    /** STRING: JSON of the effective config the leader manager published (the control plane's slot). */
    public function configKey(): string
    {
        return "{$this->prefix}:{{$this->prefix}:control}:config";
    }

    /**
     * How many shards `$jobType` is spread over: the `shards` option's count, else the published config's (one
     * GET, kept for PUBLISHED_SHARDS_SECONDS), else 1.
     */
    public function shardsOf(string $jobType): int
    {
        Validator::checkJobType($jobType);
        if (isset($this->shards[$jobType])) {
            return $this->shards[$jobType];
        }
        $now = $this->clock !== null ? ($this->clock)() : hrtime(true) / 1e9;
        if ($this->publishedAt === null || $now - $this->publishedAt > self::PUBLISHED_SHARDS_SECONDS) {
            $this->loadPublishedShards($now);
        }
        return $this->published[$jobType] ?? 1;
    }

    /**
     * Reads the published config. A missing or unreadable one keeps what was read before (nothing at first: 1
     * shard), as core does; it is read again after PUBLISHED_SHARDS_SECONDS either way.
     */
    private function loadPublishedShards(float $now): void
    {
        try {
            $read = Shards::published($this->redis->get($this->configKey()));
        } catch (\RedisException) {
            // Redis unreachable: the enqueue itself will say so
            $read = null;
        }
        if ($read !== null) {
            $this->published = $read;
        }
        $this->publishedAt = $now;
    }

    /**
     * Adds items, each `['payload' => <JSON value>]`, with an optional caller id `'id'` and ordering key `'key'`.
     *
     * A caller id dedupes: an item whose id is still queued (pending, leased,
     * delayed or dead) is skipped and its id listed in `deduped`. Other items
     * get a generated id (`#<n>`). Every item is checked first; one bad item
     * throws (InvalidPayloadException, InvalidItemIdException,
     * PayloadTooLargeException, ...) and nothing is written.
     *
     * A type spread over N shards: an item with a key goes to shard CRC16(key) mod N, else one with a caller id to
     * CRC16(id) mod N (where core puts it: the id dedupes against core's items too), else to shard 0. Generated
     * ids all come from shard 0's counter, unique over the shards. One shard's items land together; when some
     * shards fail and others do not, PartialEnqueueException says which items were queued.
     *
     * @param list<array{id?: ?string, key?: ?string, payload: mixed}> $items
     */
    public function enqueue(string $jobType, mixed $items): EnqueueResult
    {
        Validator::checkJobType($jobType);
        [$ids, $payloads, $keys] = Validator::encodeItems($items, $this->maxPayloadBytes);
        $n = count($ids);
        if ($n === 0) {
            return new EnqueueResult(0, [], []);
        }
        $plan = Shards::plan($this->shardsOf($jobType), array_map(fn ($k, $id) => $k !== '' ? $k : $id, $keys, $ids));
        $seeds = $this->reserveIds($jobType, $plan, $ids);
        $added = 0;
        $deduped = [];
        $queuedIds = [];
        $failed = [];
        foreach ($plan as $shard => $members) {
            if ($members === []) {
                continue;
            }
            $k = self::typeKeys($this->prefix, $jobType, $shard);
            try {
                [$count, $dup] = $this->writeShard($k, $members, $ids, $payloads, $seeds[$shard] ?? null);
            } catch (BatchjobException | \RedisException $e) {
                // one shard's failure: the others are still written
                $failed[$shard] = $e;
                continue;
            }
            $added += $count;
            array_push($deduped, ...$dup);
            foreach ($members as $i) {
                $queuedIds[] = $ids[$i];
            }
        }
        if ($failed !== [] && $queuedIds === []) {
            throw reset($failed);
        }
        $this->register($jobType);
        if ($failed !== []) {
            $first = reset($failed);
            $queued = count($queuedIds);
            $shown = implode(', ', array_keys($failed));
            throw new PartialEnqueueException(
                "enqueue of {$jobType}: {$queued} of {$n} items were queued, the " . ($n - $queued)
                . " for shard(s) {$shown} were not: {$first->getMessage()}",
                $queuedIds,
                $first,
            );
        }
        return new EnqueueResult($added, $ids, $deduped);
    }

    /**
     * The generated ids of the items on shards other than 0 (items with a key and no caller id) come from shard
     * 0's counter, as core takes them: one INCRBY for all. Returns, per such shard, the value to set its own
     * counter to before its script runs, so the script generates exactly the ids reserved for it.
     *
     * @param list<list<int>> $plan
     * @param list<string> $ids
     * @return array<int, int>
     */
    private function reserveIds(string $jobType, array $plan, array $ids): array
    {
        $wanted = [];
        foreach (array_slice($plan, 1, null, true) as $shard => $members) {
            $wanted[$shard] = count(array_filter($members, fn (int $i) => $ids[$i] === ''));
        }
        $total = array_sum($wanted);
        if ($total === 0) {
            return [];
        }
        $end = $this->redis->incrBy(self::typeKeys($this->prefix, $jobType)['seq'], $total);
        if (!is_int($end)) {
            $why = $this->redis->getLastError() ?? 'no reply';
            throw new ScriptException("enqueue failed: INCRBY of the type's id counter: {$why}");
        }
        $before = $end - $total;
        $seeds = [];
        foreach ($wanted as $shard => $count) {
            if ($count > 0) {
                $seeds[$shard] = $before;
                $before += $count;
            }
        }
        return $seeds;
    }

    /**
     * Writes the items `$members` (indexes, in input order) with one shard's keys: one script call per
     * `enqueueBatch` of them, several in one MULTI (with `$seed`: its counter set first, see reserveIds). Fills in
     * their generated ids; returns [added, deduped].
     *
     * @param array<string, string> $k
     * @param list<int> $members
     * @param list<string> $ids
     * @param list<string> $payloads
     * @return array{0: int, 1: list<string>}
     */
    private function writeShard(array $k, array $members, array &$ids, array $payloads, ?int $seed): array
    {
        $keys = array_map(fn (string $name) => $k[$name], self::ENQUEUE_KEYS);
        $runs = array_chunk($members, $this->enqueueBatch);
        $calls = array_map(fn (array $run) => self::args($ids, $payloads, $run), $runs);
        $replies = count($calls) === 1 && $seed === null
            ? [$this->run($keys, $calls[0])]
            : $this->runAll($keys, $calls, $seed);
        $added = 0;
        $deduped = [];
        foreach ($runs as $r => $run) {
            [$count, $firstSeq, $dup] = $replies[$r];
            $added += (int) $count;
            foreach ($dup as $d) {
                $deduped[] = (string) $d;
            }
            $seq = (int) $firstSeq;
            foreach ($run as $i) {
                if ($ids[$i] === '') {
                    $ids[$i] = '#' . $seq++;
                }
            }
        }
        return [$added, $deduped];
    }

    /**
     * @param list<string> $ids
     * @param list<string> $payloads
     * @param list<int> $run
     * @return list<int|string>
     */
    private static function args(array $ids, array $payloads, array $run): array
    {
        $args = [self::PROTOCOL_VERSION, 0];
        foreach ($run as $i) {
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
     * Several script calls in one MULTI (EVAL: a script missing from the cache cannot fail one of them alone);
     * with `$seed`, a SET of the counter (KEYS[3]) to it first. Returns the scripts' replies.
     *
     * @param list<string> $keys
     * @param list<list<int|string>> $calls
     * @return list<mixed>
     */
    private function runAll(array $keys, array $calls, ?int $seed = null): array
    {
        try {
            $this->redis->clearLastError();
            $this->redis->multi();
            if ($seed !== null) {
                $this->redis->set($keys[2], (string) $seed);
            }
            foreach ($calls as $args) {
                $this->redis->eval($this->script, array_merge($keys, $args), count($keys));
            }
            $replies = $this->redis->exec();
        } catch (\RedisException $e) {
            throw BatchjobException::fromLua($e->getMessage(), 'enqueue', $e);
        }
        $expected = count($calls) + ($seed === null ? 0 : 1);
        if (!is_array($replies) || count($replies) !== $expected || in_array(false, $replies, true)) {
            throw BatchjobException::fromLua((string) ($this->redis->getLastError() ?? 'no reply'), 'enqueue');
        }
        return $seed === null ? $replies : array_slice($replies, 1);
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

    private function reader(): QueueReader
    {
        return $this->reader ??= new QueueReader($this->redis);
    }

    /**
     * A job type's counts, as core's `counts` gives them: pending, leased,
     * delayed, dead, chunks, total, and the lifetime counters (enqueued,
     * deduped, acquired, acked, retried, died, returned, split, grouped, ...);
     * for a type spread over shards, the sum of its shards'.
     *
     * @return array<string, int>
     */
    public function counts(string $jobType): array
    {
        $each = [];
        for ($shard = 0, $n = $this->shardsOf($jobType); $shard < $n; $shard++) {
            $each[] = $this->reader()->counts(self::typeKeys($this->prefix, $jobType, $shard));
        }
        return Shards::sumCounts($each);
    }

    /**
     * Dead items, newest first, with their last error and counts; for a type spread over shards, merged over its
     * shards (`$offset` and `$limit` count in the merge).
     *
     * @return list<DeadItem>
     */
    public function listDead(string $jobType, int $offset = 0, int $limit = 50): array
    {
        Validator::checkJobType($jobType);
        if ($offset < 0 || $limit < 1) {
            throw new InvalidArgumentException("listDead expects offset >= 0 and limit >= 1, got {$offset} and {$limit}");
        }
        $n = $this->shardsOf($jobType);
        if ($n === 1) {
            return $this->reader()->dead(self::typeKeys($this->prefix, $jobType), $offset, $limit);
        }
        // the newest offset + limit of each shard hold the newest offset + limit of all
        $each = [];
        for ($shard = 0; $shard < $n; $shard++) {
            $each[] = $this->reader()->dead(self::typeKeys($this->prefix, $jobType, $shard), 0, $offset + $limit);
        }
        return Shards::mergeDead($each, $offset, $limit);
    }
}
