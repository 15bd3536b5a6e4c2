-- Keep-alive POST of a fixed body with its Content-Type to the URL's path:
-- `wrk -s bench/wrk/post.lua http://127.0.0.1:PORT/echo-json -- application/json '{"a":1}'`
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

wrk.method = "POST"

init = function(args)
  wrk.headers["Content-Type"] = args[1] or "application/json"
  wrk.body = args[2] or "{}"
end
