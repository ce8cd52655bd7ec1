-- One reviewer per connection, each with their own session (one wrk thread each).
-- bench/load.py fills in the cookies below: one quoted session cookie per reviewer.
local cookies = {${cookies}}
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("cookie", cookies[#threads])
end
function init(args)
  wrk.headers["Cookie"] = cookie
  wrk.headers["Accept-Encoding"] = "gzip"
  bad = 0
end
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + thread:get("bad") end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "not_200": %d, "connect": %d, ' ..
    '"read": %d, "write": %d, "timeout": %d, "p50": %d, "p99": %d, "max": %d}\n',
    summary.requests, summary.duration, bad, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
