-- The retry policy a script gets in five ARGV values, and its backoff.
-- policy: {maxAttempts, backoffKind ('fixed'|'exponential'), backoffMs, backoffMaxMs, maxReturns}

-- Reads the five policy values starting at ARGV[i].
local function readPolicy(i)
  return {
    maxAttempts = tonumber(ARGV[i]),
    backoffKind = ARGV[i + 1],
    backoffMs = tonumber(ARGV[i + 2]),
    backoffMaxMs = tonumber(ARGV[i + 3]),
    maxReturns = tonumber(ARGV[i + 4]),
  }
end

-- The delay (ms) before the retry of an item charged its `attempts`th failure.
local function backoffDelay(policy, attempts)
  if policy.backoffKind == 'exponential' then
    local d = policy.backoffMs * (2 ^ (attempts - 1))
    if d > policy.backoffMaxMs then d = policy.backoffMaxMs end
    return math.floor(d)
  end
  return policy.backoffMs
end
