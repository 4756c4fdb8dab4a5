-- settle: ack, release and the worker's hot path in one script. Acks the
-- done items of chunk `owner`, fails the others (retry or dead, each with its
-- own error), then, when `nextMax` > 0, acquires the next chunk for
-- `nextOwner`: one round trip per chunk.
-- KEYS[1] pending  KEYS[2] items   KEYS[3] fails   KEYS[4] delayed
-- KEYS[5] dead     KEYS[6] leases  KEYS[7] stats   KEYS[8] ids
-- KEYS[9] chunk list of `owner`    KEYS[10] chunk list of `nextOwner`
-- KEYS[11] stop tokens of the type  KEYS[12] stopping: chunk ids whose worker took a token
-- ARGV[1] owner  ARGV[2] nextOwner  ARGV[3] nextMax (0 = do not acquire)  ARGV[4] leaseMs
-- ARGV[5..8] policy: maxAttempts, backoff kind, backoff ms, backoff max ms
-- ARGV[9] nAck  ARGV[10] nFail, then nAck ids, then nFail quads:
--   id, retry (1/0), delayMs (-1 = backoff), error message
-- Returns {acked, retried, dead, notHeldIds, nextChunk, stopped} where
-- nextChunk is {entries, fails records, leaseDeadlineMs}.

local k = {pending = KEYS[1], items = KEYS[2], fails = KEYS[3], delayed = KEYS[4],
  dead = KEYS[5], leases = KEYS[6], stats = KEYS[7], ids = KEYS[8]}
local nextMax = tonumber(ARGV[3])
local leaseMs = tonumber(ARGV[4])
local policy = readPolicy(5)
local nAck = tonumber(ARGV[9])
local nFail = tonumber(ARGV[10])
if not nAck or not nFail or not nextMax or #ARGV ~= 10 + nAck + 4 * nFail then
  return bjError(1, 'settle expects nAck ids and nFail quads')
end
if nextMax > 0 and (not leaseMs or leaseMs < 1) then return bjError(1, 'settle expects leaseMs >= 1') end
local now = nowMs()

local ackIds = {}
for i = 1, nAck do ackIds[i] = ARGV[10 + i] end
local failList = {}
local base = 10 + nAck
for i = 1, nFail do
  local at = base + 4 * (i - 1)
  failList[i] = {ARGV[at + 1], ARGV[at + 2] == '1', tonumber(ARGV[at + 3]), ARGV[at + 4]}
end
local acked, retried, dead, notHeld = 0, 0, 0, {}
if nAck + nFail > 0 then
  acked, retried, dead, notHeld = settleChunk(k, KEYS[9], ARGV[1], ackIds, failList, policy, now)
end

local nextChunk, stopped = {{}, {}, 0}, 0
if nextMax > 0 then
  local tokens = tonumber(redis.call('GET', KEYS[11]) or '0')
  if tokens > 0 then
    redis.call('DECR', KEYS[11])
    -- the manager counts this worker as leaving, not running, until its list entry is gone
    redis.call('SADD', KEYS[12], ARGV[1])
    redis.call('PEXPIRE', KEYS[12], 60000)
    stopped = 1
  else
    nextChunk = acquireChunk(k, KEYS[10], ARGV[2], nextMax, leaseMs, now)
  end
end
return {acked, retried, dead, notHeld, nextChunk, stopped}
