-- wrk script for examples/many_connections.sh: a fixed offered load.
--
-- Plain wrk keeps one request in flight per connection and sends the next
-- as soon as the answer arrives (a closed loop), so its latency grows with
-- the number of connections by Little's law whatever the server does. Here
-- every connection waits a random time between requests instead, so the
-- whole run offers about RATE requests per second however many connections
-- carry them, and the latency wrk reports (from send to answer; the wait is
-- not counted) is the server's own.
--
-- RATE and CONNECTIONS come from the environment. The waits are uniform in
-- [0, 2 × mean], so the connections do not fire in step.

local rate = tonumber(os.getenv("RATE") or "20000")
local connections = tonumber(os.getenv("CONNECTIONS") or "50")
local mean_ms = rate > 0 and connections * 1000 / rate or 0

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(seed)
end

-- RATE=0: no waits, plain wrk (and no Lua call per request).
if rate > 0 then
  function delay()
    -- wrk waits whole milliseconds; rounding keeps the mean where it should be.
    return math.floor(math.random() * 2 * mean_ms + 0.5)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d errors=%d p50_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
