-- leader-release: the leader gives its lease up on shutdown, only if it holds it.
-- KEYS: leader
--   leader  STRING: the leader manager's id, with a TTL
-- ARGV[1] manager id
-- Returns 1 when released.

if redis.call('GET', K.leader) == ARGV[1] then
  redis.call('DEL', K.leader)
  return 1
end
return 0
