-- Per-minute metrics of a job type (#10), written by the calls that settle
-- (no extra round trip): one HASH per minute, `<metrics prefix><epoch minute>`
-- in the type's slot, expiring after the window. Fields: done, retried, dead,
-- returned (items); for the chunks that ended, h0..h5, chunks by run time
-- (<= 10 ms, 100 ms, 1 s, 10 s, 60 s, longer), runMs (their sum), and
-- untimed (chunks that ended with no run time given).
-- m: {prefix, ttlMs, runMs (-1: not known)} or nil (not recorded).

local RUN_BOUNDS = {10, 100, 1000, 10000, 60000}

local function recordMinute(m, now, done, retried, dead, returned, chunkEnded)
  if not m or m.prefix == '' or m.ttlMs < 1 then return end
  local key = m.prefix .. math.floor(now / 60000)
  -- a field that is new may be a key that is new: only then is the TTL set (one command less per settle)
  local fresh = false
  local function bump(field, n)
    if n ~= 0 and redis.call('HINCRBY', key, field, n) == n then fresh = true end
  end
  bump('done', done)
  bump('retried', retried)
  bump('dead', dead)
  bump('returned', returned)
  if chunkEnded then
    if m.runMs >= 0 then
      bump('runMs', m.runMs)
      local b = #RUN_BOUNDS
      for i = 1, #RUN_BOUNDS do
        if m.runMs <= RUN_BOUNDS[i] then
          b = i - 1
          break
        end
      end
      bump('h' .. b, 1)
    else
      bump('untimed', 1)
    end
  end
  if fresh then redis.call('PEXPIRE', key, m.ttlMs) end
end

-- The metrics arguments of a call at ARGV[i], ARGV[i+1], ARGV[i+2]: prefix ('' = off), ttlMs, runMs.
local function readMetricsArgs(i)
  return {prefix = ARGV[i] or '', ttlMs = tonumber(ARGV[i + 1]) or 0, runMs = tonumber(ARGV[i + 2]) or -1}
end
