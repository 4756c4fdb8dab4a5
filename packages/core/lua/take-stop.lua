-- take-stop: takes a stop token for a worker of a type spread over shards
-- (#12) whose chunk came from a shard other than 0: the tokens live in
-- shard 0's keys (the type's own), where settle takes them in the same call
-- as the next chunk; a settle on another shard takes them here, after it.
-- KEYS: stop stopping
--   stop      stop tokens of the type     stopping  ids of workers that took a token
-- ARGV[1] worker id
-- Returns 1 when a token was taken (the worker stops after its chunk), else 0.
--- @include "stop-token"

return takeStopToken(K, ARGV[1])
