-- wrk reporting script: after the run, print one machine-readable line
--   WRK_JSON {"requests":...,"duration_us":...,...}
-- that bench/run.sh picks out of wrk's output. Latencies are in microseconds.
--
-- Used alone for the saturating (closed-loop, no think time) runs, and
-- loaded by pace.lua for the paced runs.

function done(summary, latency, requests)
   local e = summary.errors
   local non2xx = e.status
   local fields = {
      string.format('"requests":%d', summary.requests),
      string.format('"duration_us":%d', summary.duration),
      string.format('"bytes":%d', summary.bytes),
      string.format('"rps":%.2f', summary.requests / (summary.duration / 1e6)),
      string.format('"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}',
                    e.connect, e.read, e.write, non2xx, e.timeout),
      string.format('"latency_us":{"min":%d,"mean":%.1f,"stdev":%.1f,"max":%d,' ..
                    '"p50":%d,"p90":%d,"p99":%d,"p999":%d}',
                    latency.min, latency.mean, latency.stdev, latency.max,
                    latency:percentile(50), latency:percentile(90),
                    latency:percentile(99), latency:percentile(99.9)),
   }
   io.write("WRK_JSON {" .. table.concat(fields, ",") .. "}\n")
end
