-- ack: removes the done items that the chunk `owner` still holds.
-- KEYS[1] fails  KEYS[2] leases  KEYS[3] stats  KEYS[4] ids
-- KEYS[5] chunk list of `owner`
-- ARGV[1] owner  ARGV[2..] item ids
-- Returns {acked, notHeldIds}: ids the owner no longer holds change nothing.

local ids = {}
for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end
local k = {fails = KEYS[1], leases = KEYS[2], stats = KEYS[3], ids = KEYS[4]}
local acked, _, _, notHeld = settleChunk(k, KEYS[5], ARGV[1], {ack = ids}, nil, 0)
return {acked, notHeld}
