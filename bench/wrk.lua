-- wrk's report for bench/city.py: counts, any answer other than 200, and the latency
-- at 400 evenly spaced quantiles (so rounds can be merged into one distribution).
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  not_ok = 0
end

function response(status, headers, body)
  if status ~= 200 then not_ok = not_ok + 1 end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + thread:get("not_ok") end
  local e = summary.errors
  io.write(string.format('WRK {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"not_ok": %d, "errors": %d, "quantiles_us": [', summary.requests, summary.duration,
    summary.bytes, bad, e.connect + e.read + e.write + e.status + e.timeout))
  for i = 1, 400 do
    io.write(string.format(i == 1 and "%d" or ", %d", latency:percentile((i - 0.5) / 4)))
  end
  io.write("]}\n")
end
