<?php

declare(strict_types=1);

// The PHP client's tests, without PHPUnit: `php tests/run.php` with BATCHJOB_TEST_REDIS_URL (and
// BATCHJOB_TEST_PREFIX: npm test deletes the keys under it; test/clients/php.test.ts runs this).
// 1. the shared enqueue cases (test/fixtures/enqueue-cases.json), which core's and the Python
//    client's tests run too; 2. what is PHP's own: the script is core's, NOSCRIPT falls back to EVAL,
//    another protocol version is refused, the type is registered, counts and dead letters read as
//    core lays them out; 3. the worker loop of the process launcher (Worker), over in-memory streams;
//    4. a job type spread over shards (tests/shards.php).
//    Prints one line per test, ends with "<n> passed, <m> failed"; exit 1 on a failure.

require __DIR__ . '/../src/autoload.php';

use Batchjob\Client\Client;
use Batchjob\Client\Exception\BatchjobException;
use Batchjob\Client\Exception\InvalidArgumentException;
use Batchjob\Client\Exception\ProtocolVersionException;
use Batchjob\Client\Exception\ScriptException;
use Batchjob\Client\ItemFailed;
use Batchjob\Client\Worker;
use Batchjob\Client\WorkerChunk;
use Batchjob\Client\WorkerItem;

final class Failed extends \Exception
{
}

function check(bool $ok, string $what): void
{
    if (!$ok) {
        throw new Failed($what);
    }
}

function same(mixed $want, mixed $got, string $what = ''): void
{
    if ($want !== $got) {
        throw new Failed(trim("{$what} expected " . var_export($want, true) . ', got ' . var_export($got, true)));
    }
}

/** Runs $fn; returns the BatchjobException it throws (a test fails if it throws nothing). */
function thrown(callable $fn): BatchjobException
{
    try {
        $fn();
    } catch (BatchjobException $e) {
        return $e;
    }
    throw new Failed('expected a BatchjobException, nothing was thrown');
}

/** @param class-string<\Redis> $class */
function connectRedis(string $class = \Redis::class): \Redis
{
    $url = getenv('BATCHJOB_TEST_REDIS_URL');
    if ($url === false || $url === '') {
        fwrite(STDERR, "set BATCHJOB_TEST_REDIS_URL to a Redis the tests may write to (npm test does)\n");
        exit(2);
    }
    $u = parse_url($url);
    $r = new $class();
    $r->connect($u['host'] ?? '127.0.0.1', $u['port'] ?? 6379, 5.0);
    if (isset($u['pass'])) {
        $r->auth(isset($u['user']) ? [urldecode($u['user']), urldecode($u['pass'])] : urldecode($u['pass']));
    }
    return $r;
}

$base = getenv('BATCHJOB_TEST_PREFIX') ?: 'phptest' . bin2hex(random_bytes(4));
$counter = 0;
function freshPrefix(): string
{
    global $base, $counter;
    return $base . ':p' . ++$counter;
}

/** @return list<string> */
function keysUnder(\Redis $r, string $prefix): array
{
    $out = [];
    $it = null;
    while (($batch = $r->scan($it, "{$prefix}:*", 1000)) !== false) {
        array_push($out, ...$batch);
    }
    sort($out);
    return $out;
}

/** The table's value in PHP: `$special` and `$repeat` objects replaced; objects stay stdClass (so {} stays {}). */
function decodeValue(mixed $v): mixed
{
    if (is_array($v)) {
        return array_map('decodeValue', $v);
    }
    if (!$v instanceof \stdClass) {
        return $v;
    }
    $props = get_object_vars($v);
    if (array_keys($props) === ['$special']) {
        return match ($props['$special']) {
            'NaN' => NAN,
            'Infinity' => INF,
            '-Infinity' => -INF,
            'unserialisable' => fopen('php://memory', 'r'),
        };
    }
    if (array_keys($props) === ['$repeat']) {
        return str_repeat($props['$repeat'][0], $props['$repeat'][1]);
    }
    $out = new \stdClass();
    foreach ($props as $k => $x) {
        $out->{$k} = decodeValue($x);
    }
    return $out;
}

/** Items as PHP callers give them: each item an array (its payload as decoded). */
function decodeItems(mixed $items): mixed
{
    $items = decodeValue($items);
    return is_array($items) ? array_map(fn ($i) => $i instanceof \stdClass ? get_object_vars($i) : $i, $items) : $items;
}

function idsMatch(array $want, array $got): void
{
    same(count($want), count($got), 'ids:');
    foreach ($want as $i => $w) {
        if ($w === '#') {
            check(preg_match('/^#\d+$/', $got[$i]) === 1, "id {$i}: expected a generated id, got {$got[$i]}");
        } else {
            same($w, $got[$i], "id {$i}:");
        }
    }
}

$redis = connectRedis();
$tests = [];
$table = json_decode(
    file_get_contents(getenv('BATCHJOB_TEST_CASES') ?: __DIR__ . '/../../../test/fixtures/enqueue-cases.json'),
    false,
    512,
    JSON_THROW_ON_ERROR,
);

// 1. the shared cases
$tests['the protocol version is the table\'s'] = fn () => same($table->protocolVersion, Client::PROTOCOL_VERSION);
foreach ($table->cases as $case) {
    $tests["case: {$case->name}"] = function () use ($case, $redis): void {
        $prefix = freshPrefix();
        $client = new Client(
            $redis,
            $prefix,
            $case->maxPayloadBytes ?? Client::DEFAULT_MAX_PAYLOAD_BYTES,
            $case->enqueueBatch ?? Client::DEFAULT_ENQUEUE_BATCH,
        );
        foreach ($case->calls as $call) {
            $want = decodeValue($call->expect);
            $type = decodeValue($call->type);
            $items = decodeItems($call->items);
            if (isset($want->error)) {
                $e = thrown(fn () => $client->enqueue($type, $items));
                same($want->error, $e->errorCode, "error code ({$e->getMessage()}):");
                foreach ($want->message ?? [] as $text) {
                    check(str_contains($e->getMessage(), $text), "message \"{$e->getMessage()}\" lacks \"{$text}\"");
                }
            } else {
                $r = $client->enqueue($type, $items);
                same($want->added, $r->added, 'added:');
                same($want->deduped, $r->deduped, 'deduped:');
                idsMatch($want->ids, $r->ids);
            }
        }
        $after = $case->after ?? new \stdClass();
        $type = decodeValue($case->calls[0]->type);
        if ($after->noKeys ?? false) {
            same([], keysUnder($redis, $prefix), 'keys:');
        }
        if (isset($after->pending)) {
            same($after->pending, $client->counts($type)['pending'], 'pending:');
        }
        if (isset($after->entries)) {
            $entries = array_map(fn ($e) => explode("\t", $e, 2), $redis->lRange("{$prefix}:{{$type}}:pending", 0, -1));
            same(array_map(fn ($e) => $e[1], $after->entries), array_map(fn ($e) => $e[1], $entries), 'payloads:');
            idsMatch(array_map(fn ($e) => $e[0], $after->entries), array_map(fn ($e) => $e[0], $entries));
        }
    };
}

// 2. the PHP client's own
$tests['runs the script core runs, and sends it with EVAL when Redis lacks it'] = function () use ($redis): void {
    $text = Client::script();
    check(str_starts_with($text, '-- batchjob enqueue:'), 'the script starts with its version line');
    $prefix = freshPrefix();
    $client = new Client($redis, $prefix);
    // a sha Redis does not know: EVALSHA answers NOSCRIPT, the client sends the text
    $sha = new \ReflectionProperty(Client::class, 'sha');
    $unknown = (new \ReflectionClass(Client::class))->newInstanceWithoutConstructor();
    $sha->setValue($unknown, str_repeat('0', 40));
    $props = ['redis' => $redis, 'prefix' => $prefix, 'maxPayloadBytes' => 1024, 'enqueueBatch' => 10, 'shards' => []];
    foreach ($props as $p => $v) {
        (new \ReflectionProperty(Client::class, $p))->setValue($unknown, $v);
    }
    (new \ReflectionProperty(Client::class, 'script'))->setValue($unknown, $text);
    $r = $unknown->enqueue('t', [['id' => 'a', 'payload' => 1], ['payload' => 2]]);
    same([2, 'a', []], [$r->added, $r->ids[0], $r->deduped]);
    same([true], array_map('boolval', $redis->script('exists', sha1($text))), 'script exists:');
    same(['a'], $client->enqueue('t', [['id' => 'a', 'payload' => 3]])->deduped);
    // the activity count moved with the items: the manager reads the type again
    same('2', $redis->get("{$prefix}:{t}:activity"));
};

$tests['another protocol version is refused before anything is written'] = function () use ($redis): void {
    $prefix = freshPrefix();
    $k = Client::typeKeys($prefix, 't');
    $keys = [$k['pending'], $k['ids'], $k['seq'], $k['stats'], $k['activity'], $k['wake'], $k['since']];
    foreach (['0', '1', '3', ''] as $other) {
        $e = thrown(function () use ($redis, $keys, $other) {
            try {
                $reply = $redis->eval(Client::script(), [...$keys, $other, 0, 'a', '1'], 7);
            } catch (\RedisException $e) {
                throw BatchjobException::fromLua($e->getMessage(), 'enqueue', $e);
            }
            throw BatchjobException::fromLua((string) $redis->getLastError(), 'enqueue');
        });
        check($e instanceof ProtocolVersionException, get_class($e) . ': ' . $e->getMessage());
        same('BJ_ERR_PROTOCOL_VERSION', $e->errorCode);
        check(str_contains($e->getMessage(), "enqueue protocol version {$other} is not supported"), $e->getMessage());
    }
    same([], keysUnder($redis, $prefix));
    check(BatchjobException::fromLua('OOM command not allowed', 'enqueue') instanceof ScriptException, 'ScriptException');
};

$tests['registers the job type once its items are queued'] = function () use ($redis): void {
    $client = new Client($redis, freshPrefix());
    $client->enqueue('b', [['payload' => [1]]]);
    $client->enqueue('a', [['id' => 'x', 'payload' => new \stdClass()]]);
    same(['a', 'b'], $client->jobTypes());
};

$tests['counts and dead letters read as core lays them out'] = function () use ($redis): void {
    $prefix = freshPrefix();
    $client = new Client($redis, $prefix);
    $client->enqueue('t', [['payload' => 0], ['payload' => 1], ['payload' => 2]]);
    $k = Client::typeKeys($prefix, 't');
    // what core's release script leaves for an item that died (packages/core/lua/includes/fail.lua)
    $redis->zAdd($k['dead'], 1700000000000, 'order-7', 1700000000500, '42');
    $redis->hMSet($k['items'], ['order-7' => '{"n":7}', '42' => 'not json']);
    $redis->hMSet($k['fails'], [
        'order-7' => '{"attempts":3,"at":1,"error":"boom","how":"reported by the job","returns":1}',
        '42' => 'old text record',
    ]);
    $redis->hMSet($k['stats'], ['acquired' => 5, 'acked' => 1, 'died' => 2]);
    $c = $client->counts('t');
    same(
        ['pending' => 3, 'leased' => 2, 'delayed' => 0, 'dead' => 2, 'total' => 7, 'enqueued' => 3, 'acked' => 1],
        array_map(fn ($n) => $c[$n], ['pending' => 'pending', 'leased' => 'leased', 'delayed' => 'delayed',
            'dead' => 'dead', 'total' => 'total', 'enqueued' => 'enqueued', 'acked' => 'acked']),
    );
    $dead = $client->listDead('t');
    same(['42', 'order-7'], array_map(fn ($d) => $d->id, $dead));
    same([['n' => 7], 3, 1, 'boom', 'reported by the job', 1700000000000], [
        $dead[1]->payload, $dead[1]->attempts, $dead[1]->returns, $dead[1]->error, $dead[1]->how, $dead[1]->diedAt,
    ]);
    same(['not json', 0, 'old text record'], [$dead[0]->payload, $dead[0]->attempts, $dead[0]->error]);
    same(['order-7'], array_map(fn ($d) => $d->id, $client->listDead('t', 1, 1)));
    same([], $client->listDead('none'));
};

$tests['refuses bad options, a prefixed or serialising connection, and payloads PHP alone can give'] = function () use ($redis): void {
    same('BJ_ERR_INVALID_ARGUMENT', thrown(fn () => new Client($redis, 'a b'))->errorCode);
    check(str_contains(thrown(fn () => new Client($redis, 'p', 1024, 0))->getMessage(), 'enqueueBatch must be at least 1'), 'batch');
    $other = connectRedis();
    $other->setOption(\Redis::OPT_PREFIX, 'x:');
    check(str_contains(thrown(fn () => new Client($other))->getMessage(), 'OPT_PREFIX'), 'OPT_PREFIX');
    $other->close();
    $prefix = freshPrefix();
    $client = new Client($redis, $prefix);
    $e = thrown(fn () => $client->enqueue('t', [['payload' => ['s' => "\xff"]]]));
    same('item 0: payload is not JSON-serialisable: payload.s is a string that is not valid UTF-8', $e->getMessage());
    $e = thrown(fn () => $client->enqueue('t', [['payload' => ['n' => PHP_INT_MAX]]]));
    check(str_contains($e->getMessage(), 'item 0: payload.n is 9223372036854775807, an integer beyond 2^53'), $e->getMessage());
    $loop = new \stdClass();
    $loop->self = $loop;
    $e = thrown(fn () => $client->enqueue('t', [['payload' => $loop]]));
    check(str_contains($e->getMessage(), 'payload.self contains itself'), $e->getMessage());
    $e = thrown(fn () => $client->enqueue('t', [['id' => "a\nb", 'payload' => 1]]));
    same('BJ_ERR_INVALID_ITEM_ID', $e->errorCode);
    $e = thrown(fn () => $client->enqueue('t', ['not-a-list' => ['payload' => 1]]));
    check($e instanceof InvalidArgumentException, get_class($e));
    same([], keysUnder($redis, $prefix));
};

/** Runs Worker::run over the given stdin lines; returns the stdout lines it wrote, decoded. */
function workerLines(callable $handler, string $per, array $chunks): array
{
    $in = fopen('php://memory', 'w+');
    foreach ($chunks as $chunk) {
        fwrite($in, json_encode(['chunk' => $chunk]) . "\n\n");
    }
    rewind($in);
    $out = fopen('php://memory', 'w+');
    Worker::run($handler, $per, $in, $out);
    rewind($out);
    return array_map(fn ($l) => json_decode($l, true), array_filter(explode("\n", stream_get_contents($out))));
}

$tests['the worker loop: a line per item, a bad item fails alone, done per chunk, output kept off stdout'] = function (): void {
    $items = [['id' => 'a', 'payload' => ['n' => 1], 'attempts' => 0], ['id' => 'b', 'payload' => ['bad' => true], 'attempts' => 2],
        ['id' => 'c', 'payload' => ['gone' => true], 'attempts' => 0], ['id' => 'd', 'payload' => [], 'attempts' => 0]];
    $lines = workerLines(function (WorkerItem $item): void {
        echo "printed by the job\n";
        if (!empty($item->payload['bad'])) {
            throw new \RuntimeException('boom');
        }
        if (!empty($item->payload['gone'])) {
            throw new ItemFailed('gone for good', retry: false, delayMs: null);
        }
    }, 'item', [['chunkId' => 'c1', 'jobType' => 't', 'items' => $items], ['chunkId' => 'c2', 'jobType' => 't', 'items' => []]]);
    same(['ready' => 1], $lines[0]);
    same(['running' => 'a'], $lines[1]);
    same(['id' => 'a', 'ok' => true], $lines[2]);
    same(['running' => 'b'], $lines[3]);
    same(false, $lines[4]['ok']);
    same(true, $lines[4]['retry']);
    check(str_starts_with($lines[4]['error'], 'RuntimeException: boom ('), $lines[4]['error']);
    same(['id' => 'c', 'ok' => false, 'error' => 'gone for good', 'retry' => false], $lines[6]);
    same(['id' => 'd', 'ok' => true], $lines[8]);
    same([['done' => 'c1'], ['done' => 'c2']], array_slice($lines, 9));
};

$tests['the worker loop per chunk: returned and reported results, a throw fails the rest'] = function (): void {
    $items = [['id' => 'a', 'payload' => 1, 'attempts' => 0], ['id' => 'b', 'payload' => 2, 'attempts' => 0]];
    $lines = workerLines(function (WorkerChunk $chunk): ?array {
        if ($chunk->chunkId === 'c2') {
            $chunk->report('a');
            $chunk->begin('b');
            throw new \LogicException('stuck');
        }
        return ['a' => true, 'b' => 'no stock'];
    }, 'chunk', [['chunkId' => 'c1', 'jobType' => 't', 'items' => $items], ['chunkId' => 'c2', 'jobType' => 't', 'items' => $items]]);
    same([['ready' => 1], ['id' => 'a', 'ok' => true], ['id' => 'b', 'ok' => false, 'error' => 'no stock'], ['done' => 'c1'],
        ['id' => 'a', 'ok' => true], ['running' => 'b']], array_slice($lines, 0, 6));
    same('c2', $lines[6]['done']);
    check(str_starts_with($lines[6]['error'], 'LogicException: stuck ('), $lines[6]['error']);
    same(7, count($lines));
};

require __DIR__ . '/shards.php';

$passed = 0;
$failed = 0;
foreach ($tests as $name => $fn) {
    try {
        $fn();
        $passed++;
        echo "ok - {$name}\n";
    } catch (\Throwable $e) {
        $failed++;
        echo "not ok - {$name}\n  " . get_class($e) . ': ' . str_replace("\n", "\n  ", $e->getMessage()) . "\n";
    }
}
echo "{$passed} passed, {$failed} failed\n";
$redis->close();
exit($failed === 0 ? 0 : 1);
