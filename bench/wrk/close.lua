-- GET of the URL's path with `Connection: close`: the server closes after each
-- response and wrk reconnects, so every request pays a TCP connect and accept.
-- `wrk -s bench/wrk/close.lua http://127.0.0.1:PORT/hello`
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

wrk.headers["Connection"] = "close"
