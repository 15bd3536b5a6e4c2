-- Shared by every scenario script: when wrk is done, print one machine-readable
-- line (`WRK_RESULT {json}`) that bench/run.ts parses. Latencies are in
-- microseconds. wrk records one latency sample per request batch, so in
-- pipelined runs a sample covers the whole batch, and its high percentiles can
-- come out as 0 (wrk issues #236 and #354): the runner reports those as n/a.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
