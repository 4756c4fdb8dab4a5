-- ack: removes the done items that the chunk `owner` still holds.
-- KEYS[1] items  KEYS[2] attempts  KEYS[3] errors  KEYS[4] leases
-- KEYS[5] stats  KEYS[6] chunk set of `owner`
-- ARGV[1] owner  ARGV[2..] item ids
-- Returns {acked, notHeldIds}: ids the owner no longer holds change nothing.

local ids = {}
for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end
local k = {items = KEYS[1], attempts = KEYS[2], errors = KEYS[3], leases = KEYS[4], stats = KEYS[5]}
local acked, notHeld = ackHeld(k, KEYS[6], ids)
dropLeaseIfEmpty(k, KEYS[6], ARGV[1])
return {acked, notHeld}
