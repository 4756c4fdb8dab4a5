-- heartbeat: a worker daemon says it is alive, with what it runs and its load.
-- KEYS[1] host beats ZSET  KEYS[2] host info HASH
-- ARGV[1] host id  ARGV[2] HostInfo JSON (without the beat time)
-- Returns the beat time (ms, Redis clock).

local now = nowMs()
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return now
