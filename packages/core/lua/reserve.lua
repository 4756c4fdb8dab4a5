-- reserve: records the reservations of starts the manager dispatches; each
-- counts as a starting worker of its type until a worker takes it (claim).
-- KEYS: reserved
--   reserved  SET of reservation ids no worker took yet (expires with its last write)
-- ARGV[1] how long the set lives after this write (ms)
-- ARGV[2..] reservation ids
-- Returns the number of ids added.

local added = redis.call('SADD', K.reserved, unpack(ARGV, 2))
redis.call('PEXPIRE', K.reserved, ARGV[1])
return added
