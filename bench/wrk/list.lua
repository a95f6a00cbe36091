-- GET <WRK_PATH>?user_id=<random 1..2500>&limit=50 (the records of one user, in key order), WRK_AUTH as Authorization when set
local path = os.getenv("WRK_PATH") or "/data/connections"
local auth = os.getenv("WRK_AUTH")
local headers = {}
if auth and auth ~= "" then headers["Authorization"] = auth end

request = function()
  return wrk.format("GET", path .. "?user_id=" .. math.random(1, 2500) .. "&limit=50", headers)
end
