-- ack: removes the done items that the chunk `owner` still holds.
-- KEYS: fails leases stats ids chunk
--   chunk  the chunk list of `owner`
-- ARGV[1] owner  ARGV[2..] item ids
-- Returns {acked, notHeldIds}: ids the owner no longer holds change nothing.
--- @include "settle-chunk"

local ids = {}
for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end
local acked, _, _, notHeld = settleChunk(K, K.chunk, ARGV[1], {ack = ids}, nil, 0)
return {acked, notHeld}
