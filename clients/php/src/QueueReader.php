<?php

declare(strict_types=1);

namespace Batchjob\Client;

use Batchjob\Client\Exception\BatchjobException;

/**
 * Reads one queue (a job type, or one of its shards) as core lays it out
 * (docs/protocol.md, "Reading a type"): its counts, and its dead items with
 * their last error. Client adds the shards of a type up.
 */
final class QueueReader
{
    private const STAT_FIELDS = [
        'enqueued', 'deduped', 'acquired', 'acked', 'retried', 'died',
        'returned', 'split', 'grouped', 'reclaimed', 'revived', 'purged',
    ];

    public function __construct(private readonly \Redis|\RedisCluster $redis)
    {
    }

    /**
     * The counts of one queue (a type, or one of its shards), in one MULTI.
     *
     * @param array<string, string> $k
     * @return array<string, int>
     */
    public function counts(array $k): array
    {
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
     * The dead items of one queue (a type, or one of its shards), newest first.
     *
     * @param array<string, string> $k
     * @return list<DeadItem>
     */
    public function dead(array $k, int $offset, int $limit): array
    {
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
