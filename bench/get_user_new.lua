-- wrk script: get-user for a new group on every call (ids unique per run),
-- with the API key in TESSERA_BENCH_KEY.
math.randomseed(os.time())
local key = os.getenv("TESSERA_BENCH_KEY")
local run = tostring(math.random(1, 1000000000))
local counter = 0
request = function()
  counter = counter + 1
  local body = '{"user_group_id":"new-' .. run .. '-' .. counter .. '","properties":{"tenant":' .. counter .. '}}'
  return wrk.format("POST", "/api/user",
    {["Content-Type"] = "application/json", ["Authorization"] = "Token " .. key}, body)
end
