-- mark-pushed: counts and marks entries an enqueue without caller ids just
-- pushed to pending in the same MULTI (the client's fast path, no Lua for the
-- push itself), as enqueue.lua does for its own pushes.
-- KEYS: stats since
-- ARGV[1] how many entries were pushed
-- Returns the push number of the last one.
--- @include "error"
--- @include "clock"
--- @include "pushed"

local n = tonumber(ARGV[1])
if not n or n < 1 then return bjError(1, 'mark-pushed expects a count >= 1') end
return markPushed(K, n, nowMs())
