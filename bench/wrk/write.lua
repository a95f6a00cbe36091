-- POST WRK_PATH with a new connection between two random users, WRK_AUTH as Authorization when set
local path = os.getenv("WRK_PATH") or "/data/connections"
local auth = os.getenv("WRK_AUTH")
local headers = { ["Content-Type"] = "application/json" }
if auth and auth ~= "" then headers["Authorization"] = auth end

request = function()
  local body = string.format('{"user_id":%d,"connected_user_id":%d,"status":"pending"}', math.random(1, 2500), math.random(1, 2500))
  return wrk.format("POST", path, headers, body)
end

-- a run with any answer but 201 is not a measurement
local bad = 0
response = function(status, headers, body)
  if status ~= 201 then bad = bad + 1 end
end
