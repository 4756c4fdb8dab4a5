-- leader-renew: the leader extends its lease, only while it still holds it.
-- KEYS: leader
--   leader  STRING: the leader manager's id, with a TTL
-- ARGV[1] manager id  ARGV[2] lease ms
-- Returns 1 when renewed, 0 when another manager (or nobody) holds it.

if redis.call('GET', K.leader) == ARGV[1] then
  redis.call('PEXPIRE', K.leader, ARGV[2])
  return 1
end
return 0
