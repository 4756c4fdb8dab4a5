-- settle: the worker's hot path in one script. Settles the items of chunk
-- `owner` by whose fault each outcome is (acked; charged a failed attempt;
-- given back without one; requeued; split into two groups), then, when
-- `nextMax` > 0, takes a stop token or acquires the next chunk for
-- `nextOwner`: one round trip per chunk.
-- KEYS: pending items fails delayed dead leases stats ids chunk nextChunk stop stopping groups since
--   chunk      the chunk list of `owner`   nextChunk  the chunk list of `nextOwner`
--   stop       stop tokens of the type     stopping   ids of workers that took a token
-- ARGV[1] owner  ARGV[2] nextOwner  ARGV[3] nextMax (0 = do not acquire)  ARGV[4] leaseMs
-- ARGV[5..9] policy: maxAttempts, backoff kind, backoff ms, backoff max ms, maxReturns
-- ARGV[10] worker id  ARGV[11] group key prefix  ARGV[12] split depth
-- ARGV[13] why the given-back items were given back
-- ARGV[14] nAck (-1: every item the chunk holds, no ids given)
-- ARGV[15] nFail  ARGV[16] nGiveBack  ARGV[17] nRequeue  ARGV[18] nSplit
-- ARGV[19] metrics key prefix ('' = none)  ARGV[20] metrics window (ms)  ARGV[21] the chunk's run time (ms, -1
--   = not known): see includes/minute-metrics.lua,
--   then nAck ids, nFail quints (id, retry (1/0), delayMs (-1 = backoff),
--   error message, how it was attributed), nGiveBack ids, nRequeue ids, nSplit ids
-- Returns {acked, retried, dead, notHeldIds, nextChunk, stopped, returned}
-- where nextChunk is {entries, fails records, leaseDeadlineMs, split depth}.
--- @include "error"
--- @include "clock"
--- @include "policy"
--- @include "settle-chunk"
--- @include "acquire-chunk"
--- @include "minute-metrics"
--- @include "stop-token"

-- the group helpers read the group key prefix (run-time names) from the keys table
K.groupPrefix = ARGV[11]
local nextMax = tonumber(ARGV[3])
local leaseMs = tonumber(ARGV[4])
local policy = readPolicy(5)
local n = {}
for i = 1, 5 do n[i] = tonumber(ARGV[13 + i]) end
-- nAck -1: every item the chunk holds is acked, no ids given
local ackAll = n[1] == -1
if ackAll then n[1] = 0 end
if not nextMax or not n[1] or not n[2] or not n[3] or not n[4] or not n[5]
  or #ARGV ~= 21 + n[1] + 5 * n[2] + n[3] + n[4] + n[5] then
  return bjError(1, 'settle expects nAck ids, nFail quints, nGiveBack, nRequeue and nSplit ids')
end
if ackAll and n[2] + n[3] + n[4] + n[5] > 0 then
  return bjError(1, 'settle takes nAck -1 (every item acked) alone, with no other outcome')
end
if nextMax > 0 and (not leaseMs or leaseMs < 1) then return bjError(1, 'settle expects leaseMs >= 1') end
local now = nowMs()

local at = 21
local function ids(count)
  local out = {}
  for i = 1, count do out[i] = ARGV[at + i] end
  at = at + count
  return out
end
local o = {ack = ids(n[1]), fail = {}, splitDepth = tonumber(ARGV[12]) or 1, giveBackReason = ARGV[13],
  metrics = readMetricsArgs(19), ackAll = ackAll}
for i = 1, n[2] do
  local b = at + 5 * (i - 1)
  o.fail[i] = {ARGV[b + 1], ARGV[b + 2] == '1', tonumber(ARGV[b + 3]), ARGV[b + 4], ARGV[b + 5]}
end
at = at + 5 * n[2]
o.giveBack = ids(n[3])
o.requeue = ids(n[4])
o.split = ids(n[5])

local acked, retried, dead, notHeld, returned = 0, 0, 0, {}, 0
if ackAll or n[1] + n[2] + n[3] + n[4] + n[5] > 0 then
  acked, retried, dead, notHeld, returned = settleChunk(K, K.chunk, ARGV[1], o, policy, now)
end

local nextChunk, stopped = {{}, {}, 0, 0}, 0
if nextMax > 0 then
  stopped = takeStopToken(K, ARGV[10])
  if stopped == 0 then nextChunk = acquireChunk(K, K.nextChunk, ARGV[2], nextMax, leaseMs, now) end
end
return {acked, retried, dead, notHeld, nextChunk, stopped, returned}
