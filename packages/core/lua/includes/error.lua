-- bjError: a script's error reply 'BJLUA:<code>:<detail>', which
-- errorFromLua (src/errors.ts) turns into a typed error.

local function bjError(code, detail)
  return redis.error_reply('BJLUA:' .. code .. ':' .. detail)
end
