<?php

declare(strict_types=1);

namespace Batchjob\Client;

use Batchjob\Client\Exception\InvalidArgumentException;
use Batchjob\Client\Exception\InvalidItemIdException;
use Batchjob\Client\Exception\InvalidJobTypeException;
use Batchjob\Client\Exception\InvalidPayloadException;
use Batchjob\Client\Exception\PayloadTooLargeException;

/**
 * Checks and encodes the items of an enqueue before anything is written, as
 * core does (packages/core/src/enqueue-input.ts): the job type name, caller
 * ids (1 to 256 UTF-16 code units, no control characters, not starting with
 * '#') and payloads (JSON that reads back as it was given, at most
 * maxPayloadBytes of UTF-8). One bad item fails the whole call, naming its
 * index and, inside a payload, the path to the bad value (`payload.a.b[2]`).
 * An ordering key (`key`, which picks the shard of a type spread over shards)
 * is a UTF-8 string of 1 to 1024 UTF-16 code units.
 */
final class Validator
{
    public const JOB_TYPE_NAME_RULE = 'use 1 to 64 characters from A-Z a-z 0-9 . _ -';
    public const DOT_NAME_RULE = "'.' and '..' are not job type names: they read as folders";
    private const ID_RULE =
        "use 1 to 256 characters without control characters, not starting with '#' (reserved for generated ids)";
    /** Compact JSON with non-ASCII characters and slashes as they are, as JavaScript writes it. */
    public const JSON_FLAGS = JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES;
    /** Integers JavaScript (the worker's JSON.parse) reads exactly. */
    private const MAX_SAFE_INT = 9007199254740991;
    /** The longest ordering key (UTF-16 code units, as core counts them). */
    private const MAX_KEY_LENGTH = 1024;

    public static function checkJobType(string $name): string
    {
        if ($name !== '.' && $name !== '..' && preg_match('/^[A-Za-z0-9._-]{1,64}$/D', $name) === 1) {
            return $name;
        }
        $rule = ($name === '.' || $name === '..') ? self::DOT_NAME_RULE : self::JOB_TYPE_NAME_RULE;
        throw new InvalidJobTypeException('invalid job type name ' . self::shown($name) . ": {$rule}");
    }

    /**
     * Checks every item (in order; the first bad one throws: its id, its payload, its key) and encodes its payload.
     *
     * @return array{0: list<string>, 1: list<string>, 2: list<string>} caller ids ('' = generate one), payloads as
     *   JSON and ordering keys ('' = none)
     */
    public static function encodeItems(mixed $items, int $maxPayloadBytes): array
    {
        if (!is_array($items) || !array_is_list($items)) {
            throw new InvalidArgumentException('enqueue expects an array of {id?, payload}');
        }
        $ids = [];
        $payloads = [];
        $keys = [];
        foreach ($items as $index => $item) {
            $ids[] = self::checkId($item, $index);
            $payloads[] = self::encodePayload($item['payload'], $index, $maxPayloadBytes);
            $keys[] = self::checkKey($item, $index);
        }
        return [$ids, $payloads, $keys];
    }

    /**
     * The item's ordering key, '' for none (`null` is none, as for `id`); a key that is not a non-empty UTF-8
     * string is refused with core's message, naming the item.
     *
     * @param array<array-key, mixed> $item
     */
    private static function checkKey(array $item, int $index): string
    {
        $key = $item['key'] ?? null;
        if ($key === null) {
            return '';
        }
        if (!is_string($key)) {
            $shown = self::shown($key);
        } elseif (preg_match('//u', $key) !== 1) {
            $shown = 'a string that is not valid UTF-8';
        } else {
            $length = self::utf16Length($key);
            if ($length >= 1 && $length <= self::MAX_KEY_LENGTH) {
                return $key;
            }
            $shown = "a string of {$length} characters";
        }
        throw new InvalidArgumentException(
            "item {$index}: key must be a string of 1 to " . self::MAX_KEY_LENGTH . " characters, got {$shown}",
        );
    }

    private static function checkId(mixed $item, int $index): string
    {
        if (!is_array($item) || !array_key_exists('payload', $item)) {
            $got = is_array($item) ? "an array without 'payload'" : get_debug_type($item);
            throw new InvalidPayloadException("item {$index}: expected {id?, payload}, got {$got}");
        }
        $id = $item['id'] ?? null;
        if ($id === null) {
            return '';
        }
        if (
            !is_string($id)
            || preg_match('/^[^#\x00-\x1f\x7f][^\x00-\x1f\x7f]*$/uD', $id) !== 1
            || self::utf16Length($id) > 256
        ) {
            throw new InvalidItemIdException("item {$index}: id " . self::shown($id) . ' is not allowed: ' . self::ID_RULE);
        }
        return $id;
    }

    private static function utf16Length(string $s): int
    {
        return (int) preg_match_all('/./us', $s) + (int) preg_match_all('/[\x{10000}-\x{10FFFF}]/u', $s);
    }

    private static function shown(mixed $value): string
    {
        $json = json_encode($value, self::JSON_FLAGS);
        return $json === false ? var_export($value, true) : $json;
    }

    private static function encodePayload(mixed $payload, int $index, int $maxPayloadBytes): string
    {
        try {
            $json = json_encode($payload, self::JSON_FLAGS | JSON_THROW_ON_ERROR);
        } catch (\JsonException $e) {
            // NaN or ±Infinity, a resource, a string that is not UTF-8, a circular reference: say where
            $loss = self::loss($payload, 'payload', []);
            if ($loss !== null) {
                throw new InvalidPayloadException(self::lossMessage($loss, $index), $e);
            }
            throw new InvalidPayloadException("item {$index}: payload is not JSON-serialisable: {$e->getMessage()}", $e);
        }
        // only a payload with a long run of digits can hold an integer JavaScript reads rounded
        if (preg_match('/\d{16}/', $json) === 1) {
            $loss = self::loss($payload, 'payload', []);
            if ($loss !== null) {
                throw new InvalidPayloadException(self::lossMessage($loss, $index));
            }
        }
        $bytes = strlen($json);
        if ($bytes > $maxPayloadBytes) {
            throw new PayloadTooLargeException(
                "item {$index}: payload is {$bytes} bytes of JSON, more than maxPayloadBytes {$maxPayloadBytes}",
            );
        }
        return $json;
    }

    /** @param array{0: string, 1: string, 2: bool} $loss */
    private static function lossMessage(array $loss, int $index): string
    {
        [$path, $problem, $numeric] = $loss;
        return $numeric
            ? "item {$index}: {$path} {$problem}"
            : "item {$index}: payload is not JSON-serialisable: {$path} {$problem}";
    }

    private static function segment(bool $list, int|string $key): string
    {
        if ($list) {
            return "[{$key}]";
        }
        $key = (string) $key;
        if (strlen($key) <= 40 && preg_match('/^[A-Za-z_$][A-Za-z0-9_$]*$/D', $key) === 1) {
            return ".{$key}";
        }
        if (preg_match('/^.{41}/us', $key) === 1) {
            preg_match('/^.{40}/us', $key, $m);
            $key = $m[0] . '...';
        }
        return '[' . self::shown($key) . ']';
    }

    /**
     * The first value JSON would not hold as it is: [path, problem, whether
     * it is a value JSON has no place for (NaN, ±Infinity, an integer past
     * 2^53 − 1; core names these alone) rather than a value of no JSON type], or null.
     *
     * @param list<int> $within ids of the objects on the path (a circular reference)
     * @return array{0: string, 1: string, 2: bool}|null
     */
    private static function loss(mixed $value, string $path, array $within): ?array
    {
        if ($value === null || is_bool($value)) {
            return null;
        }
        if (is_string($value)) {
            return preg_match('//u', $value) === 1 ? null : [$path, 'is a string that is not valid UTF-8', false];
        }
        if (is_int($value)) {
            return ($value <= self::MAX_SAFE_INT && $value >= -self::MAX_SAFE_INT) ? null : [
                $path,
                "is {$value}, an integer beyond 2^53 - 1 that JavaScript reads rounded (give it as a string)",
                true,
            ];
        }
        if (is_float($value)) {
            if (is_finite($value)) {
                return null;
            }
            $shown = is_nan($value) ? 'NaN' : ($value > 0 ? 'Infinity' : '-Infinity');
            return [$path, "is {$shown}, which JSON cannot hold (it would be stored as null)", true];
        }
        if (is_object($value)) {
            $id = spl_object_id($value);
            if (in_array($id, $within, true)) {
                return [$path, 'contains itself (a circular reference)', false];
            }
            $within[] = $id;
            $inner = $value instanceof \JsonSerializable ? $value->jsonSerialize() : get_object_vars($value);
            if ($value instanceof \JsonSerializable) {
                return self::loss($inner, $path, $within);
            }
            $value = $inner;
            $list = false;
        } elseif (is_array($value)) {
            $list = array_is_list($value);
        } else {
            return [$path, 'is a ' . get_debug_type($value) . ', which JSON cannot hold', false];
        }
        foreach ($value as $key => $v) {
            $found = self::loss($v, $path . self::segment($list, $key), $within);
            if ($found !== null) {
                return $found;
            }
        }
        return null;
    }
}
