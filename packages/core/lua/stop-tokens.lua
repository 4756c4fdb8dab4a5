-- stop-tokens: sets how many workers of a type stop after their chunk, from
-- what runs now, atomically with the workers taking tokens (settle): no
-- read-modify-write race, so a scale-down never stops one worker too many.
-- KEYS: stop stopping
--   stop      STRING: stop tokens   stopping  SET of ids of workers that took a token
-- ARGV[1] target workers  ARGV[2] dispatched workers not listed yet
-- ARGV[3..] ids of the listed workers of the type on live hosts
-- Returns {tokens, leaving}: tokens = listed - leaving + dispatched - target (>= 0).
--- @include "error"

local target = tonumber(ARGV[1])
local dispatched = tonumber(ARGV[2])
if not target or not dispatched then return bjError(1, 'stop-tokens expects target and dispatched counts') end
local leaving = 0
for i = 3, #ARGV do leaving = leaving + redis.call('SISMEMBER', K.stopping, ARGV[i]) end
local tokens = (#ARGV - 2) - leaving + dispatched - target
if tokens > 0 then
  redis.call('SET', K.stop, tokens)
else
  tokens = 0
  redis.call('DEL', K.stop)
end
return {tokens, leaving}
