-- pending-age: how long the item at the head of pending has waited since it
-- was enqueued (see includes/pushed.lua). Reads only.
-- KEYS: pending stats since
-- Returns {ageMs, pending}: ageMs -1 when nothing is pending or no mark is
-- kept (entries pushed around the protocol). Entries handed back to the head
-- after their mark was dropped count from the oldest mark kept.
--- @include "clock"
--- @include "pushed"

local head = headNumber(K)
if head == 0 then return {-1, 0} end
local pending = redis.call('LLEN', K.pending)
local mark = redis.call('ZRANGE', K.since, head, '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, 1)[1]
  or redis.call('ZRANGE', K.since, 0, 0)[1]
if not mark then return {-1, pending} end
local at = tonumber(string.sub(mark, string.find(mark, ':', 1, true) + 1))
return {math.max(0, nowMs() - at), pending}
