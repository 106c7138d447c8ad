-- wrk's report for bench/city.py: counts, errors (connection failures and answers of
-- 400 or more), and the latency at the 400 quantiles 0.25 %, 0.5 % … 100 %, so rounds can
-- be merged into one distribution. No response() callback: with one, wrk would hand
-- every body to Lua, which costs the shared cores on the big downloads.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": %d, "quantiles_us": [', summary.requests, summary.duration, summary.bytes,
    e.connect + e.read + e.write + e.status + e.timeout))
  for i = 1, 400 do
    -- wrk's percentile(100) answers 0: the last point is the slowest request itself.
    local value = i == 400 and latency.max or latency:percentile(i / 4)
    io.write(string.format(i == 1 and "%d" or ", %d", value))
  end
  io.write("]}\n")
end
