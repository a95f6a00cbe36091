-- PATCH <WRK_PATH><random key 1..WRK_KEYS> with a new status, WRK_AUTH as Authorization when set
local path = os.getenv("WRK_PATH") or "/data/connections/"
local keys = tonumber(os.getenv("WRK_KEYS") or "10000")
local auth = os.getenv("WRK_AUTH")
local headers = { ["Content-Type"] = "application/json" }
if auth and auth ~= "" then headers["Authorization"] = auth end
local statuses = { "pending", "accepted" }

request = function()
  return wrk.format("PATCH", path .. math.random(1, keys), headers, '{"status":"' .. statuses[math.random(1, 2)] .. '"}')
end
