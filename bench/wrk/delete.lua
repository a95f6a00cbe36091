-- DELETE <WRK_PATH><key>, each key once: thread i of WRK_THREADS deletes WRK_FROM + (i - 1),
-- then every WRK_THREADS-th key after it; WRK_AUTH as the Authorization header's value when set
local path = os.getenv("WRK_PATH") or "/data/connections/"
local from = tonumber(os.getenv("WRK_FROM"))
local threads = tonumber(os.getenv("WRK_THREADS") or "2")
local auth = os.getenv("WRK_AUTH")
local headers = {}
if auth and auth ~= "" then headers["Authorization"] = auth end

local started = 0
function setup(thread)
  thread:set("first", from + started)
  started = started + 1
end

local n = -1
request = function()
  n = n + 1
  return wrk.format("DELETE", path .. (first + threads * n), headers)
end
