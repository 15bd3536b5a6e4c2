-- Plain keep-alive GET of the URL's path: `wrk -s bench/wrk/get.lua http://127.0.0.1:PORT/hello`
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
