-- leader-release: the leader gives its lease up on shutdown, only if it holds it.
-- KEYS[1] leader key
-- ARGV[1] manager id
-- Returns 1 when released.

if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
