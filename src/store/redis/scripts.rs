//! The Lua scripts of the Redis backend. Each touches exactly one key, so
//! each also runs on Redis Cluster.

/// Replaces a record only if it still holds what the caller read.
/// Returns 1 on success, otherwise the current value (nil if deleted).
pub const COMPARE_AND_SET: &str = r"
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return current
";

/// Adds an API key unless its name is taken. Returns 1 or 0.
pub const INSERT_API_KEY: &str = r"
for _, v in ipairs(redis.call('HVALS', KEYS[1])) do
  if cjson.decode(v)['name'] == ARGV[1] then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
return 1
";

/// Deletes the API key named ARGV[1]. Returns 1 or 0.
pub const REVOKE_API_KEY: &str = r"
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if cjson.decode(all[i + 1])['name'] == ARGV[1] then
    redis.call('HDEL', KEYS[1], all[i])
    return 1
  end
end
return 0
";

/// Raises the integer in KEYS[1] (the `team_id` counter, a group's
/// revocation floor) to at least ARGV[1]; never lowers it. Values stay at
/// or below 2^53 - 1, which Lua numbers hold exactly.
pub const RAISE_TO_AT_LEAST: &str = r"
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local wanted = tonumber(ARGV[1])
if current < wanted then
  redis.call('SET', KEYS[1], ARGV[1])
end
return 1
";

/// Adds ARGV[2] to the hour ARGV[1] of a verification-count hash, then,
/// when a new hour made it hold more than ARGV[3] hours, drops the oldest.
pub const ADD_VERIFICATIONS: &str = r"
local added = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
if added == tonumber(ARGV[2]) then
  local held = redis.call('HLEN', KEYS[1])
  local keep = tonumber(ARGV[3])
  if held > keep then
    local hours = redis.call('HKEYS', KEYS[1])
    table.sort(hours, function(a, b) return tonumber(a) < tonumber(b) end)
    for i = 1, held - keep do redis.call('HDEL', KEYS[1], hours[i]) end
  end
end
return added
";
