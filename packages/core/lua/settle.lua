-- settle: the worker's hot path in one script. For each of G settles (a
-- worker's chunks that ended, #12: several in one call, one round trip):
-- settles the items of chunk `owner` by whose fault each outcome is (acked;
-- charged a failed attempt; given back without one; requeued; split into two
-- groups), then, when `nextMax` > 0, takes a stop token or acquires the next
-- chunk for `nextOwner`. Once a settle of the call took a stop token, the
-- later ones settle only (their worker stops): no second token, no chunk.
-- KEYS: pending items fails delayed dead leases stats ids stop stopping groups since
--   stop       stop tokens of the type     stopping   ids of workers that took a token
-- ARGV[1] G, how many settles (1..64)  ARGV[2] chunk key prefix (a chunk's list is prefix .. owner)
-- ARGV[3..7] policy: maxAttempts, backoff kind, backoff ms, backoff max ms, maxReturns
-- ARGV[8] group key prefix  ARGV[9] metrics key prefix ('' = none)  ARGV[10] metrics window (ms)
-- then G settles, each 13 fields: owner, nextOwner, nextMax (0 = do not acquire), leaseMs, worker id,
--   split depth, why the given-back items were given back, the chunk's run time (ms, -1 = not known),
--   nAck (-1: every item the chunk holds, no ids given), nFail, nGiveBack, nRequeue, nSplit;
--   then nAck ids, nFail quints (id, retry (1/0), delayMs (-1 = backoff), error message, how it
--   was attributed), nGiveBack ids, nRequeue ids, nSplit ids
-- Returns G replies {acked, retried, dead, notHeldIds, nextChunk, stopped, returned}
-- where nextChunk is {entries, fails records, leaseDeadlineMs, split depth}.
--- @include "error"
--- @include "clock"
--- @include "policy"
--- @include "settle-chunk"
--- @include "acquire-chunk"
--- @include "minute-metrics"
--- @include "stop-token"

local MAX_SETTLES = 64
local HEAD = 13
local count = tonumber(ARGV[1])
if not count or count < 1 or count > MAX_SETTLES then
  return bjError(1, 'settle expects 1 to ' .. MAX_SETTLES .. ' settles')
end
local chunkPrefix = ARGV[2]
local policy = readPolicy(3)
-- the group helpers read the group key prefix (run-time names) from the keys table
K.groupPrefix = ARGV[8]
local metricsPrefix, metricsTtl = ARGV[9] or '', tonumber(ARGV[10]) or 0
local now = nowMs()

-- reads settle g's fields from ARGV[at + 1] on; checks all of them before any is run
local settles = {}
local at = 10
for g = 1, count do
  local b = at
  local n = {}
  for i = 1, 5 do n[i] = tonumber(ARGV[b + 8 + i]) end
  local nextMax, leaseMs = tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4])
  if not nextMax or not n[1] or not n[2] or not n[3] or not n[4] or not n[5] then
    return bjError(1, 'settle ' .. g .. ' expects nAck ids, nFail quints, nGiveBack, nRequeue and nSplit ids')
  end
  -- nAck -1: every item the chunk holds is acked, no ids given
  local ackAll = n[1] == -1
  if ackAll then n[1] = 0 end
  if ackAll and n[2] + n[3] + n[4] + n[5] > 0 then
    return bjError(1, 'settle takes nAck -1 (every item acked) alone, with no other outcome')
  end
  if nextMax > 0 and (not leaseMs or leaseMs < 1) then return bjError(1, 'settle expects leaseMs >= 1') end
  at = b + HEAD
  local function ids(c)
    local out = {}
    for i = 1, c do out[i] = ARGV[at + i] end
    at = at + c
    return out
  end
  local o = {ack = ids(n[1]), fail = {}, splitDepth = tonumber(ARGV[b + 6]) or 1, giveBackReason = ARGV[b + 7],
    metrics = {prefix = metricsPrefix, ttlMs = metricsTtl, runMs = tonumber(ARGV[b + 8]) or -1}, ackAll = ackAll}
  for i = 1, n[2] do
    local f = at + 5 * (i - 1)
    o.fail[i] = {ARGV[f + 1], ARGV[f + 2] == '1', tonumber(ARGV[f + 3]), ARGV[f + 4], ARGV[f + 5]}
  end
  at = at + 5 * n[2]
  o.giveBack = ids(n[3])
  o.requeue = ids(n[4])
  o.split = ids(n[5])
  settles[g] = {owner = ARGV[b + 1], nextOwner = ARGV[b + 2], nextMax = nextMax, leaseMs = leaseMs,
    workerId = ARGV[b + 5], o = o, any = ackAll or n[1] + n[2] + n[3] + n[4] + n[5] > 0}
end
if at ~= #ARGV then return bjError(1, 'settle got ' .. #ARGV .. ' arguments, its counts say ' .. at) end

local replies, tokenTaken = {}, false
for g = 1, count do
  local s = settles[g]
  local acked, retried, dead, notHeld, returned = 0, 0, 0, {}, 0
  if s.any then
    acked, retried, dead, notHeld, returned = settleChunk(K, chunkPrefix .. s.owner, s.owner, s.o, policy, now)
  end
  local nextChunk, stopped = {{}, {}, 0, 0}, 0
  if s.nextMax > 0 and not tokenTaken then
    stopped = takeStopToken(K, s.workerId)
    if stopped == 1 then
      tokenTaken = true
    else
      nextChunk = acquireChunk(K, chunkPrefix .. s.nextOwner, s.nextOwner, s.nextMax, s.leaseMs, now)
    end
  end
  replies[g] = {acked, retried, dead, notHeld, nextChunk, stopped, returned}
end
return replies
