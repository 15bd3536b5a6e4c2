-- Keep-alive POST of an N-byte body (default 65536) to the URL's path:
-- `wrk -s bench/wrk/upload.lua http://127.0.0.1:PORT/upload -- 65536`
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.body = string.rep("x", 65536)

init = function(args)
  local size = tonumber(args[1])
  if size then
    wrk.body = string.rep("x", size)
  end
end
