-- takeStopToken: takes one of the type's stop tokens for worker `workerId`,
-- when there is one: the worker stops after its chunk, and the manager
-- counts it as leaving, not running, until it leaves the list.
-- Reads K.stop (the tokens) and K.stopping (ids of workers that took one).
-- Returns 1 when a token was taken (now or before), else 0.

local function takeStopToken(K, workerId)
  -- a worker that took one already (an earlier settle of its, or the first try of a retried call) is
  -- stopping: it takes no second token, and gets no chunk
  if redis.call('SISMEMBER', K.stopping, workerId) == 1 then return 1 end
  local tokens = tonumber(redis.call('GET', K.stop) or '0')
  if tokens <= 0 then return 0 end
  redis.call('DECR', K.stop)
  redis.call('SADD', K.stopping, workerId)
  redis.call('PEXPIRE', K.stopping, 60000)
  return 1
end
