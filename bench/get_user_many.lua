-- wrk script: get-user for a random group among BENCH_GROUPS (default
-- 100 000; created on first use, or as bench/scale.sh imports them), with
-- the API key in TESSERA_BENCH_KEY.
math.randomseed(os.time())
local key = os.getenv("TESSERA_BENCH_KEY")
local groups = tonumber(os.getenv("BENCH_GROUPS") or "100000")
request = function()
  local id = math.random(1, groups)
  local body = '{"user_group_id":"group-' .. id .. '","name":"Group ' .. id ..
    '","mapping":{"40":"213"},"properties":{"tenant":' .. id .. '}}'
  return wrk.format("POST", "/api/user",
    {["Content-Type"] = "application/json", ["Authorization"] = "Token " .. key}, body)
end
