<?php

declare(strict_types=1);

namespace Batchjob\Client;

use Batchjob\Client\Exception\InvalidArgumentException;

/**
 * A job type spread over shards (`shards: N`; docs/protocol.md, "A type spread over shards"), as core does it
 * (packages/core/src/keys.ts, queue/shard-plan.ts, queue/shard-merge.ts): shard 0 is the type's own keys `{T}`,
 * shard i the keys `{T#i}`. Which shard an item goes to, the shard counts of the option and of the config the
 * leader publishes, and how reads over the shards add up. Pure functions: no Redis here.
 */
final class Shards
{
    /** Shards one job type may have at most (core's MAX_SHARDS). */
    public const MAX = 64;

    /** The queue name of shard `$shard` of `$jobType`: the type itself for shard 0, `T#i` for shard i. */
    public static function queue(string $jobType, int $shard): string
    {
        return $shard === 0 ? $jobType : "{$jobType}#{$shard}";
    }

    /**
     * CRC16-XMODEM (polynomial 0x1021, start 0) of `$bytes`: Redis Cluster's checksum of key slots.
     * CRC16-XMODEM("123456789") is 0x31C3.
     */
    public static function crc16(string $bytes): int
    {
        static $table = null;
        if ($table === null) {
            $table = [];
            for ($i = 0; $i < 256; $i++) {
                $crc = $i << 8;
                for ($bit = 0; $bit < 8; $bit++) {
                    $crc = ($crc & 0x8000) !== 0 ? (($crc << 1) ^ 0x1021) & 0xFFFF : ($crc << 1) & 0xFFFF;
                }
                $table[$i] = $crc;
            }
        }
        $crc = 0;
        $n = strlen($bytes);
        for ($i = 0; $i < $n; $i++) {
            $crc = (($crc << 8) & 0xFFFF) ^ $table[(($crc >> 8) ^ ord($bytes[$i])) & 0xFF];
        }
        return $crc;
    }

    /**
     * The shard of an ordering key or caller id (UTF-8): CRC16-XMODEM of its bytes modulo `$shards`, as core's
     * `shardOfKey`.
     */
    public static function ofKey(string $key, int $shards): int
    {
        return $shards <= 1 ? 0 : self::crc16($key) % $shards;
    }

    /**
     * The indexes of the items each shard gets, in input order. `$keys[$i]`: item i's ordering key, else its
     * caller id, else '' (shard 0).
     *
     * @param list<string> $keys
     * @return list<list<int>>
     */
    public static function plan(int $shards, array $keys): array
    {
        $members = array_fill(0, max(1, $shards), []);
        foreach ($keys as $i => $key) {
            $members[$key === '' ? 0 : self::ofKey($key, $shards)][] = $i;
        }
        return $members;
    }

    private static function isCount(mixed $n): bool
    {
        return is_int($n) && $n >= 1 && $n <= self::MAX;
    }

    /**
     * The `shards` option of the client: job type name => shard count (1 to 64).
     *
     * @param array<array-key, mixed> $shards
     * @return array<string, int>
     */
    public static function checkOption(array $shards): array
    {
        $out = [];
        foreach ($shards as $jobType => $n) {
            $jobType = Validator::checkJobType((string) $jobType);
            if (!self::isCount($n)) {
                $json = json_encode($n, Validator::JSON_FLAGS | JSON_PRESERVE_ZERO_FRACTION);
                $shown = $json === false ? get_debug_type($n) : $json;
                throw new InvalidArgumentException(
                    "shards of job type {$jobType}: expected an integer from 1 to " . self::MAX . ", got {$shown}",
                );
            }
            $out[$jobType] = $n;
        }
        return $out;
    }

    /**
     * The shard counts in the config the leader published (`jobTypes[].name`, `jobTypes[].shards`); entries
     * without a valid count are left out. Null when there is no config or it cannot be read.
     *
     * @return array<string, int>|null
     */
    public static function published(mixed $raw): ?array
    {
        if (!is_string($raw)) {
            return null;
        }
        $config = json_decode($raw, true);
        $types = is_array($config) ? ($config['jobTypes'] ?? null) : null;
        if (!is_array($types) || !array_is_list($types)) {
            return null;
        }
        $out = [];
        foreach ($types as $t) {
            if (is_array($t) && is_string($t['name'] ?? null) && self::isCount($t['shards'] ?? null)) {
                $out[$t['name']] = $t['shards'];
            }
        }
        return $out;
    }

    /**
     * The counts of a type from its shards' counts (core's `sumCounts`).
     *
     * @param non-empty-list<array<string, int>> $shards
     * @return array<string, int>
     */
    public static function sumCounts(array $shards): array
    {
        $out = $shards[0];
        foreach (array_slice($shards, 1) as $c) {
            foreach ($out as $f => $v) {
                $out[$f] = $v + $c[$f];
            }
        }
        return $out;
    }

    /**
     * Dead items of several shards, newest first (a stable sort: ties keep the shards' order), `$offset` and
     * `$limit` applied to the merge (core's `mergeDead`).
     *
     * @param list<list<DeadItem>> $shards
     * @return list<DeadItem>
     */
    public static function mergeDead(array $shards, int $offset, int $limit): array
    {
        $all = array_merge(...$shards);
        usort($all, fn (DeadItem $a, DeadItem $b) => $b->diedAt <=> $a->diedAt);
        return array_slice($all, $offset, $limit);
    }
}
