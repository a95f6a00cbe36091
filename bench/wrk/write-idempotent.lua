-- POST /data/connections with a new record between two random users and an Idempotency-Key no
-- request has sent before (a prefix per run and thread, then a counter), WRK_AUTH as Authorization
-- when set
local auth = os.getenv("WRK_AUTH")
local run = tostring(os.time()) .. "-" .. tostring(math.random(1, 1000000000))
local sent = 0

setup = function(thread)
  thread:set("thread", tostring(math.random(1, 1000000000)))
end

request = function()
  sent = sent + 1
  local headers = { ["Content-Type"] = "application/json", ["Idempotency-Key"] = run .. "-" .. thread .. "-" .. sent }
  if auth and auth ~= "" then headers["Authorization"] = auth end
  local body = string.format('{"user_id":%d,"connected_user_id":%d,"status":"pending"}', math.random(1, 2500), math.random(1, 2500))
  return wrk.format("POST", "/data/connections", headers, body)
end
