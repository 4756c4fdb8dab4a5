<?php

declare(strict_types=1);

// A job type spread over shards, on the PHP client (required by run.php, whose helpers it uses): items go to the
// shard core would put them in (by key, else by caller id, else shard 0), dedupe holds across calls, counts add up
// the shards, dead letters merge newest first, the shard count comes from the option or the published config (read
// once a minute), and a failed shard beside written ones throws PartialEnqueueException.

use Batchjob\Client\Client;
use Batchjob\Client\Exception\InvalidArgumentException;
use Batchjob\Client\Exception\InvalidJobTypeException;
use Batchjob\Client\Exception\PartialEnqueueException;
use Batchjob\Client\Exception\ScriptException;
use Batchjob\Client\Shards;

/** The test's own CRC16-XMODEM (poly 0x1021, start 0), bit by bit, to check the client's against. */
function crc16Xmodem(string $bytes): int
{
    $crc = 0;
    foreach (str_split($bytes) as $c) {
        $crc ^= ord($c) << 8;
        for ($i = 0; $i < 8; $i++) {
            $crc = ($crc & 0x8000) !== 0 ? (($crc << 1) ^ 0x1021) & 0xFFFF : ($crc << 1) & 0xFFFF;
        }
    }
    return $crc;
}

function expectedShard(string $key, int $shards): int
{
    return crc16Xmodem($key) % $shards;
}

/** @return list<string> the ids in the pending list of shard $shard of $type */
function idsIn(\Redis $redis, string $prefix, string $type, int $shard): array
{
    $entries = $redis->lRange(Client::typeKeys($prefix, $type, $shard)['pending'], 0, -1);
    return array_map(fn (string $e) => explode("\t", $e, 2)[0], $entries);
}

/** A connection that notes the keys it GETs. */
final class CountingRedis extends \Redis
{
    /** @var list<string> */
    public array $gets = [];

    public function get($key): mixed
    {
        $this->gets[] = $key;
        return parent::get($key);
    }
}

/** What the leader manager publishes: the effective config as JSON. */
function publish(\Redis $redis, string $prefix, mixed $config): void
{
    $redis->set("{$prefix}:{{$prefix}:control}:config", is_string($config) ? $config : json_encode($config));
}

$tests['shards: the checksum is CRC16-XMODEM and core picks the same shards'] = function (): void {
    same(0x31C3, crc16Xmodem('123456789'));
    same(0x31C3, Shards::crc16('123456789'));
    $rows = json_decode(
        file_get_contents(__DIR__ . '/../../../test/fixtures/shard-keys.json'),
        true,
        512,
        JSON_THROW_ON_ERROR,
    )['rows'];
    check(count($rows) > 100, 'the fixture has rows');
    foreach ($rows as [$key, $shards, $shard]) {
        // core's choice (the fixture, checked against core's shardOfKey by the Node tests) is the client's
        same($shard, Shards::ofKey($key, $shards), "{$key} of {$shards}:");
        if ($shards > 1) {
            same($shard, expectedShard($key, $shards), "{$key} of {$shards} (the test's CRC16):");
        }
    }
};

$tests['shards: spread by key, then caller id; generated ids from shard 0\'s counter'] = function () use ($redis) {
    $prefix = freshPrefix();
    // enqueueBatch 3: a shard with more items runs its script calls in one MULTI
    $client = new Client($redis, $prefix, enqueueBatch: 3, shards: ['s' => 4]);
    $items = [];
    for ($i = 0; $i < 12; $i++) {
        $items[] = ['key' => "customer-{$i}", 'payload' => ['k' => $i]];
        $items[] = ['id' => "order-{$i}", 'payload' => ['o' => $i]];
        $items[] = ['payload' => ['n' => $i]];
    }
    // an item with both: its key decides
    $items[] = ['id' => 'both-1', 'key' => 'customer-3', 'payload' => 'both'];
    $r = $client->enqueue('s', $items);
    same([37, []], [$r->added, $r->deduped]);
    $generated = [];
    $want = [[], [], [], []];
    foreach ($items as $i => $item) {
        $key = $item['key'] ?? $item['id'] ?? null;
        $want[$key === null ? 0 : expectedShard($key, 4)][] = $r->ids[$i];
        if (!isset($item['id'])) {
            $generated[] = (int) substr($r->ids[$i], 1);
        } else {
            same($item['id'], $r->ids[$i], "id {$i}:");
        }
    }
    // generated ids, keyed items' on other shards too, all come from shard 0's counter: unique over the shards
    sort($generated);
    same(range(1, 24), $generated);
    same('24', $redis->get(Client::typeKeys($prefix, 's')['seq']));
    foreach ($want as $shard => $ids) {
        check($ids !== [], "shard {$shard} gets items");
        same($ids, idsIn($redis, $prefix, 's', $shard), "shard {$shard}:");
    }
    same("{$prefix}:{s#2}:pending", Client::typeKeys($prefix, 's', 2)['pending']);
};

$tests['shards: caller ids dedupe across calls and clients'] = function () use ($redis): void {
    $prefix = freshPrefix();
    $ids = array_map(fn (int $i) => "order-{$i}", range(0, 29));
    $first = new Client($redis, $prefix, shards: ['s' => 3]);
    $r = $first->enqueue('s', array_map(fn ($id) => ['id' => $id, 'payload' => 1], $ids));
    same([30, []], [$r->added, $r->deduped]);
    $again = new Client($redis, $prefix, shards: ['s' => 3]);
    $items = array_map(fn ($id) => ['id' => $id, 'payload' => 'again'], array_reverse($ids));
    $r = $again->enqueue('s', [...$items, ['id' => 'new', 'payload' => 1]]);
    same(1, $r->added);
    $deduped = $r->deduped;
    sort($deduped);
    $sorted = $ids;
    sort($sorted);
    same($sorted, $deduped);
    same([31, 30], [$again->counts('s')['pending'], $again->counts('s')['deduped']]);
};

$tests['shards: counts sum the shards'] = function () use ($redis): void {
    $prefix = freshPrefix();
    $client = new Client($redis, $prefix, shards: ['s' => 3]);
    $items = array_map(fn (int $n) => ['id' => "i{$n}", 'payload' => $n], range(0, 19));
    $client->enqueue('s', [...$items, ['payload' => 'gen']]);
    // what a worker leaves on shard 2: one leased item, one dead
    $k2 = Client::typeKeys($prefix, 's', 2);
    $redis->hMSet($k2['stats'], ['acquired' => 2, 'died' => 1]);
    $redis->zAdd($k2['dead'], 1, 'x');
    $c = $client->counts('s');
    same(
        ['enqueued' => 21, 'pending' => 21, 'leased' => 1, 'dead' => 1, 'total' => 23],
        array_intersect_key($c, array_flip(['pending', 'enqueued', 'leased', 'dead', 'total'])),
    );
    $pending = array_map(fn (int $s) => count(idsIn($redis, $prefix, 's', $s)), [0, 1, 2]);
    check(min($pending) > 0, 'every shard has items: ' . implode(',', $pending));
    // a client that does not know the shards sees shard 0 only
    same($pending[0], (new Client($redis, $prefix))->counts('s')['pending']);
};

$tests['shards: dead letters merge newest first over the shards'] = function () use ($redis): void {
    $prefix = freshPrefix();
    $client = new Client($redis, $prefix, shards: ['s' => 3]);
    $died = [['a' => 100, 'd' => 400, 'g' => 700], ['b' => 200, 'e' => 500], ['c' => 300, 'f' => 600, 'h' => 700]];
    foreach ($died as $shard => $members) {
        $k = Client::typeKeys($prefix, 's', $shard);
        foreach ($members as $m => $at) {
            $redis->zAdd($k['dead'], $at, $m);
            $redis->hSet($k['items'], $m, json_encode(['shard' => $shard]));
            $redis->hSet($k['fails'], $m, '{"attempts":2,"error":"boom"}');
        }
    }
    $dead = $client->listDead('s');
    // a tie (700) keeps the shards' order
    same(['g', 'h', 'f', 'e', 'd', 'c', 'b', 'a'], array_map(fn ($d) => $d->id, $dead));
    same([['shard' => 2], 2, 'boom', 700], [$dead[1]->payload, $dead[1]->attempts, $dead[1]->error, $dead[1]->diedAt]);
    same(['f', 'e', 'd'], array_map(fn ($d) => $d->id, $client->listDead('s', 2, 3)));
    same(['b', 'a'], array_map(fn ($d) => $d->id, $client->listDead('s', 6, 5)));
    same([], $client->listDead('s', 8));
};

$tests['shards: the count comes from the published config, read once a minute'] = function () use ($redis): void {
    $prefix = freshPrefix();
    $now = 1000.0;
    $counting = connectRedis(CountingRedis::class);
    $client = new Client($counting, $prefix);
    (new \ReflectionProperty(Client::class, 'clock'))->setValue($client, function () use (&$now): float {
        return $now;
    });
    // no config yet: one shard
    same(1, $client->shardsOf('s'));
    $types = [['name' => 's', 'shards' => 3], ['name' => 'bad', 'shards' => 0], ['name' => 't']];
    publish($redis, $prefix, ['jobTypes' => $types]);
    $now += 59;
    same(1, $client->shardsOf('s'), 'kept for a minute:');
    $now += 2;
    same(3, $client->shardsOf('s'));
    same([1, 1, 1], [$client->shardsOf('bad'), $client->shardsOf('t'), $client->shardsOf('u')]);
    $ids = array_map(fn (int $i) => "order-{$i}", range(0, 11));
    $r = $client->enqueue('s', array_map(fn ($id) => ['id' => $id, 'payload' => 1], $ids));
    foreach ($r->ids as $id) {
        check(in_array($id, idsIn($redis, $prefix, 's', expectedShard($id, 3)), true), "{$id} on its shard");
    }
    same(["{$prefix}:{{$prefix}:control}:config", "{$prefix}:{{$prefix}:control}:config"], $counting->gets);
    $counting->close();
    // an unreadable config keeps what was read, as core does
    publish($redis, $prefix, 'not json');
    $now += 61;
    same(3, $client->shardsOf('s'));
    // the option wins over the config; a client started when the config is unreadable: one shard
    same(2, (new Client($redis, $prefix, shards: ['s' => 2]))->shardsOf('s'));
    same(1, (new Client($redis, $prefix))->shardsOf('s'));
};

$tests['shards: a failed shard beside written ones throws PartialEnqueueException'] = function () use ($redis): void {
    $prefix = freshPrefix();
    $client = new Client($redis, $prefix, shards: ['s' => 3]);
    // shard 2's dedupe set is no set: its script fails on its first write (WRONGTYPE), before writing anything
    $redis->set(Client::typeKeys($prefix, 's', 2)['ids'], 'not a set');
    $ids = array_map(fn (int $i) => "order-{$i}", range(0, 29));
    $on2 = array_values(array_filter($ids, fn ($id) => expectedShard($id, 3) === 2));
    check(count($on2) > 0 && count($on2) < 30, 'some ids on shard 2');
    $e = thrown(fn () => $client->enqueue('s', array_map(fn ($id) => ['id' => $id, 'payload' => 1], $ids)));
    check($e instanceof PartialEnqueueException, get_class($e) . ': ' . $e->getMessage());
    same('BJ_ERR_ENQUEUE_PARTIAL', $e->errorCode);
    $queued = 30 - count($on2);
    same($queued, $e->queued);
    $queuedIds = $e->queuedIds;
    sort($queuedIds);
    $want = array_diff($ids, $on2);
    sort($want);
    same($want, $queuedIds);
    $text = "enqueue of s: {$queued} of 30 items were queued, the " . count($on2) . ' for shard(s) 2 were not: ';
    check(str_starts_with($e->getMessage(), $text), $e->getMessage());
    check($e->getPrevious() instanceof ScriptException, 'the first failure is the previous exception');
    same($queued, $client->counts('s')['pending']);
    same(['s'], $client->jobTypes());
    // when every shard fails, the exception is the shards' own
    $e = thrown(fn () => $client->enqueue('s', array_map(fn ($id) => ['id' => $id, 'payload' => 1], $on2)));
    check($e instanceof ScriptException, get_class($e));
};

$tests['shards: bad keys and shard options are refused, naming the item or type'] = function () use ($redis): void {
    $prefix = freshPrefix();
    $client = new Client($redis, $prefix, shards: ['s' => 2]);
    $cases = [
        ['', 'a string of 0 characters'],
        [str_repeat('x', 1025), 'a string of 1025 characters'],
        [str_repeat("\u{1F600}", 513), 'a string of 1026 characters'],
        [42, '42'],
        [['a'], '["a"]'],
        ["\xff", 'a string that is not valid UTF-8'],
    ];
    foreach ($cases as [$key, $shown]) {
        $e = thrown(fn () => $client->enqueue('s', [['key' => 'ok', 'payload' => 1], ['key' => $key, 'payload' => 2]]));
        check($e instanceof InvalidArgumentException, get_class($e));
        same("item 1: key must be a string of 1 to 1024 characters, got {$shown}", $e->getMessage());
        same('BJ_ERR_INVALID_ARGUMENT', $e->errorCode);
    }
    same([], keysUnder($redis, $prefix));
    // at the limit, and null as "no key"
    $r = $client->enqueue('s', [
        ['key' => str_repeat('x', 1024), 'payload' => 1],
        ['key' => str_repeat("\u{1F600}", 512), 'payload' => 2],
        ['key' => null, 'payload' => 3],
    ]);
    same(3, $r->added);
    foreach ([[0, '0'], [65, '65'], [true, 'true'], [2.0, '2.0'], ['2', '"2"']] as [$n, $shown]) {
        $e = thrown(fn () => new Client($redis, $prefix, shards: ['s' => $n]));
        same("shards of job type s: expected an integer from 1 to 64, got {$shown}", $e->getMessage());
        check($e instanceof InvalidArgumentException, get_class($e));
    }
    $e = thrown(fn () => new Client($redis, $prefix, shards: ['a/b' => 2]));
    check($e instanceof InvalidJobTypeException, get_class($e));
    same(64, (new Client($redis, $prefix, shards: ['s' => 64]))->shardsOf('s'));
};
