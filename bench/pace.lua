-- wrk pacing script: each connection waits DELAY_MS milliseconds after a
-- response before it sends its next request, so the offered load is fixed
-- (about connections / (DELAY_MS + latency) requests per second) instead of
-- "as fast as the server answers".
--
-- Usage: wrk -t2 -c16 -d5s -s bench/pace.lua URL -- DELAY_MS
--
-- wrk starts a request's latency clock when the request is written, i.e.
-- after the delay, so the delay itself is not counted as latency.

-- Reuse the reporting done() from report.lua next to this file.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

local delay_ms = 4

function init(args)
   if args[1] ~= nil then
      delay_ms = tonumber(args[1])
   end
end

function delay()
   return delay_ms
end
