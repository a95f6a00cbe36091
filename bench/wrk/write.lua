-- POST WRK_PATH with a new record between two random users (a connection, or a message when
-- WRK_PATH ends in /messages), WRK_AUTH as Authorization when set
local path = os.getenv("WRK_PATH") or "/data/connections"
local auth = os.getenv("WRK_AUTH")
local headers = { ["Content-Type"] = "application/json" }
if auth and auth ~= "" then headers["Authorization"] = auth end
local messages = path:sub(-9) == "/messages"

request = function()
  local a, b = math.random(1, 2500), math.random(1, 2500)
  local body
  if messages then
    body = string.format('{"sender_id":%d,"recipient_id":%d,"content":"bench %d"}', a, b, math.random(1, 1000000))
  else
    body = string.format('{"user_id":%d,"connected_user_id":%d,"status":"pending"}', a, b)
  end
  return wrk.format("POST", path, headers, body)
end
