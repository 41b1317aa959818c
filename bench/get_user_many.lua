-- wrk script: get-user for a random group among 100 000 (created on first
-- use), with the API key in TESSERA_BENCH_KEY.
math.randomseed(os.time())
local key = os.getenv("TESSERA_BENCH_KEY")
request = function()
  local id = math.random(1, 100000)
  local body = '{"user_group_id":"group-' .. id .. '","properties":{"tenant":' .. id .. '}}'
  return wrk.format("POST", "/api/user",
    {["Content-Type"] = "application/json", ["Authorization"] = "Token " .. key}, body)
end
