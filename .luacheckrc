-- luacheck for the Redis Lua scripts of packages/core/lua (`pnpm lint:lua`).
-- Redis runs each script as Lua 5.1 with redis, cjson, KEYS, ARGV; the loader
-- (packages/core/src/scripts/source.ts) puts before a script the includes its
-- header names (`--- @include "fail"`) and `local K = {...}` made from its
-- `-- KEYS:` line. So that each file is checked on its own, this config reads
-- the same headers:
-- 1. a file may use the top-level locals of the includes it names itself
--    (read-only globals here), not those of its includes' includes;
-- 2. an include's top-level locals are what it offers: not "unused";
-- 3. a script reads K.<a name of its KEYS line> (and sets K.groupPrefix, the
--    group key prefix the group helpers take along with the keys), never
--    KEYS[i]; an include takes its keys from its caller;
-- 4. a script marked `--- @each-type` reads several job types per call: it
--    also gets KEY_GROUPS and keysOf(g), the K of its g-th type.
std = "lua51"
read_globals = { "redis", "cjson", "KEYS", "ARGV", "unpack" }
max_line_length = 120

local lfs = require("lfs")

-- The directory of this file: luacheck finds it in the current directory or above.
local root = lfs.currentdir()
while not io.open(root .. "/.luacheckrc") do
  root = root:match("^(.*)/[^/]+$")
  if not root then error("run luacheck from inside the batchjob repository") end
end
local luaDir = root .. "/packages/core/lua/"

-- The header of a file: its include names, its KEYS names (nil: no line),
-- and the top-level locals it defines.
local function header(path)
  local includes, keys, locals, eachType = {}, nil, {}, false
  local inHeader = true
  for line in io.lines(path) do
    if inHeader and line:match("%S") and not line:match("^%-%-") then inHeader = false end
    local inc = inHeader and line:match('^%-%-%- @include "([%w-]+)"')
    local keyLine = inHeader and line:match("^%-%- KEYS:(.*)$")
    if inc then includes[#includes + 1] = inc end
    if inHeader and line:match("^%-%-%- @each%-type") then eachType = true end
    if keyLine then
      keys = {}
      for name in keyLine:gmatch("[%w_]+") do keys[#keys + 1] = name end
    end
    local name = line:match("^local function ([%w_]+)") or line:match("^local ([%w_]+) =")
    if name then locals[#locals + 1] = name end
  end
  return includes, keys, locals, eachType
end

-- The locals an include offers, by include name.
local offered = {}
for file in lfs.dir(luaDir .. "includes") do
  local name = file:match("^(.+)%.lua$")
  if name then
    local _, _, locals = header(luaDir .. "includes/" .. file)
    offered[name] = locals
  end
end

-- What a file may use of its includes (an unknown include: nothing, the loader fails on it).
local function fromIncludes(includes)
  local names = {}
  for _, inc in ipairs(includes) do
    for _, n in ipairs(offered[inc] or {}) do names[#names + 1] = n end
  end
  return names
end

for file in lfs.dir(luaDir .. "includes") do
  if file:match("%.lua$") then
    local includes, _, locals = header(luaDir .. "includes/" .. file)
    local ignore = {}
    for _, n in ipairs(locals) do ignore[#ignore + 1] = "211/" .. n end
    files["packages/core/lua/includes/" .. file] = {
      read_globals = fromIncludes(includes),
      not_globals = { "KEYS" },
      ignore = ignore,
    }
  end
end

for file in lfs.dir(luaDir) do
  if file:match("%.lua$") then
    local includes, keys, _, eachType = header(luaDir .. file)
    local fields = { groupPrefix = { read_only = false } }
    for _, k in ipairs(keys or {}) do fields[k] = {} end
    local globals = fromIncludes(includes)
    globals.K = { fields = fields }
    if eachType then
      globals[#globals + 1] = "KEY_GROUPS"
      globals[#globals + 1] = "keysOf"
    end
    files["packages/core/lua/" .. file] = { read_globals = globals, not_globals = { "KEYS" } }
  end
end
