-- GET of the URL's path, N requests pipelined per connection write (default 16):
-- `wrk -s bench/wrk/pipeline.lua http://127.0.0.1:PORT/hello -- 16`
-- wrk counts every response as one request.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local batch

init = function(args)
  local depth = tonumber(args[1]) or 16
  local requests = {}
  for i = 1, depth do
    requests[i] = wrk.format()
  end
  batch = table.concat(requests)
end

request = function()
  return batch
end
