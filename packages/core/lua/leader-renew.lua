-- leader-renew: the leader extends its lease, only while it still holds it.
-- KEYS[1] leader key
-- ARGV[1] manager id  ARGV[2] lease ms
-- Returns 1 when renewed, 0 when another manager (or nobody) holds it.

if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
