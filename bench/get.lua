-- wrk script: GET /api/v1/cases/CMW-NNNNNN with random numbers in [1, max], signed in.
-- wrk counts non-2xx answers itself ("Non-2xx or 3xx responses").
-- usage: wrk -t2 -c64 -d10s -s bench/get.lua http://127.0.0.1:PORT -- TOKEN MAX [PREFIX]
local token, max, prefix
function init(args)
  token = args[1]
  max = tonumber(args[2]) or 1000
  prefix = args[3] or "CMW-"
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end
function request()
  local path = string.format("/api/v1/cases/%s%06d", prefix, math.random(1, max))
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end
