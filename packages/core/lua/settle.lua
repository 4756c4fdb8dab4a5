-- settle: the worker's hot path in one round trip. Acks the done items of
-- chunk `owner`, fails the others (retry or dead, each with its own error),
-- then, when `nextMax` > 0, acquires the next chunk for `nextOwner`.
-- KEYS[1] pending  KEYS[2] items   KEYS[3] attempts  KEYS[4] errors
-- KEYS[5] delayed  KEYS[6] dead    KEYS[7] leases    KEYS[8] stats
-- KEYS[9] chunk set of `owner`     KEYS[10] chunk set of `nextOwner`
-- ARGV[1] owner  ARGV[2] nextOwner  ARGV[3] nextMax (0 = do not acquire)  ARGV[4] leaseMs
-- ARGV[5..8] policy: maxAttempts, backoff kind, backoff ms, backoff max ms
-- ARGV[9] nAck  ARGV[10] nFail, then nAck ids, then nFail quads:
--   id, retry (1/0), delayMs (-1 = backoff), error message
-- Returns {acked, retried, dead, notHeldIds, nextChunk} where nextChunk is
-- {ids, payloads, attempts, leaseDeadlineMs}.

local k = {pending = KEYS[1], items = KEYS[2], attempts = KEYS[3], errors = KEYS[4],
  delayed = KEYS[5], dead = KEYS[6], leases = KEYS[7], stats = KEYS[8]}
local nextMax = tonumber(ARGV[3])
local leaseMs = tonumber(ARGV[4])
local policy = readPolicy(5)
local nAck = tonumber(ARGV[9])
local nFail = tonumber(ARGV[10])
if not nAck or not nFail or #ARGV ~= 10 + nAck + 4 * nFail then
  return bjError(1, 'settle expects nAck ids and nFail quads')
end
local now = nowMs()

local ackIds = {}
for i = 1, nAck do ackIds[i] = ARGV[10 + i] end
local acked, notHeld = ackHeld(k, KEYS[9], ackIds)

local retried, dead = 0, 0
if nFail > 0 then
  local failIds = {}
  local base = 10 + nAck
  for i = 1, nFail do failIds[i] = ARGV[base + 4 * (i - 1) + 1] end
  local held = slicedGet('SMISMEMBER', KEYS[9], failIds, 1000)
  local mine = {}
  for i = 1, nFail do
    local at = base + 4 * (i - 1)
    if held[i] == 1 then
      mine[#mine + 1] = failIds[i]
      local retry = ARGV[at + 2] == '1'
      if failItem(k, policy, now, failIds[i], retry, tonumber(ARGV[at + 3]), ARGV[at + 4]) then
        dead = dead + 1
      else
        retried = retried + 1
      end
    else
      notHeld[#notHeld + 1] = failIds[i]
    end
  end
  if #mine > 0 then sliced('SREM', KEYS[9], mine, 1000) end
  if retried > 0 then redis.call('HINCRBY', k.stats, 'retried', retried) end
  if dead > 0 then redis.call('HINCRBY', k.stats, 'died', dead) end
end
dropLeaseIfEmpty(k, KEYS[9], ARGV[1])

local nextChunk = {{}, {}, {}, 0}
if nextMax and nextMax > 0 then
  if not leaseMs or leaseMs < 1 then return bjError(1, 'settle expects leaseMs >= 1') end
  nextChunk = acquireChunk(k, KEYS[10], ARGV[2], nextMax, leaseMs, now)
end
return {acked, retried, dead, notHeld, nextChunk}
