-- GET <WRK_PATH><random key 1..WRK_KEYS>, with WRK_AUTH as the Authorization header's value when set
local path = os.getenv("WRK_PATH") or "/data/connections/"
local keys = tonumber(os.getenv("WRK_KEYS") or "10000")
local auth = os.getenv("WRK_AUTH")
local headers = {}
if auth and auth ~= "" then headers["Authorization"] = auth end

request = function()
  return wrk.format("GET", path .. math.random(1, keys), headers)
end
