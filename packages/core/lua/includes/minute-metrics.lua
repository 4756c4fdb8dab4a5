-- Per-minute metrics of a job type (#10), written by the calls that settle
-- (no extra round trip): one HASH per minute, `<metrics prefix><epoch minute>`
-- in the type's slot, expiring after the window. Fields: done, retried, dead,
-- returned (items); chunks, runMs (sum), and h0..h5, chunks by run time
-- (<= 10 ms, 100 ms, 1 s, 10 s, 60 s, longer), for the chunks that ended.
-- m: {prefix, ttlMs, runMs (-1: not known)} or nil (not recorded).

local RUN_BOUNDS = {10, 100, 1000, 10000, 60000}

local function recordMinute(m, now, done, retried, dead, returned, chunkEnded)
  if not m or m.prefix == '' or m.ttlMs < 1 then return end
  if done + retried + dead + returned == 0 and not chunkEnded then return end
  local key = m.prefix .. math.floor(now / 60000)
  if done > 0 then redis.call('HINCRBY', key, 'done', done) end
  if retried > 0 then redis.call('HINCRBY', key, 'retried', retried) end
  if dead > 0 then redis.call('HINCRBY', key, 'dead', dead) end
  if returned > 0 then redis.call('HINCRBY', key, 'returned', returned) end
  if chunkEnded then
    redis.call('HINCRBY', key, 'chunks', 1)
    if m.runMs >= 0 then
      redis.call('HINCRBY', key, 'runMs', m.runMs)
      local b = #RUN_BOUNDS
      for i = 1, #RUN_BOUNDS do
        if m.runMs <= RUN_BOUNDS[i] then
          b = i - 1
          break
        end
      end
      redis.call('HINCRBY', key, 'h' .. b, 1)
    end
  end
  redis.call('PEXPIRE', key, m.ttlMs)
end

-- The metrics arguments of a call at ARGV[i], ARGV[i+1], ARGV[i+2]: prefix ('' = off), ttlMs, runMs.
local function readMetricsArgs(i)
  return {prefix = ARGV[i] or '', ttlMs = tonumber(ARGV[i + 1]) or 0, runMs = tonumber(ARGV[i + 2]) or -1}
end
