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
    io.write(string.format(i == 1 and "%d" or ", %d", latency:percentile(i / 4)))
  end
  io.write("]}\n")
end
