-- heartbeat: a worker daemon says it is alive, with what it runs and its load.
-- KEYS: hostBeats hostInfo
--   hostBeats  ZSET host id -> last beat   hostInfo  HASH host id -> HostInfo JSON
-- ARGV[1] host id  ARGV[2] HostInfo JSON (without the beat time)
-- Returns the beat time (ms, Redis clock).
--- @include "clock"

local now = nowMs()
redis.call('ZADD', K.hostBeats, now, ARGV[1])
redis.call('HSET', K.hostInfo, ARGV[1], ARGV[2])
return now
