-- wrk script of bench/_wrk.ts: tallies which worker answered (the `x-worker` response header)
-- and, when the run ends, prints one JSON line with the counts, wrk's error counters, latency
-- quantiles (µs) and wrk's own /proc/self/stat (its CPU time, read by the orchestrator).
--
-- With the script argument `close` (requests carry `Connection: close`) it also counts answers
-- that do not say `Connection: close` (RFC 9112 §9.6: the server SHOULD). wrk then takes the
-- connection for keep-alive, and the server's close after that complete answer becomes one read
-- or write error although nothing failed; bench/_wrk.ts subtracts them. Bun.serve answers so.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  counts = {}
  closing = args[1] == "close"
  unannounced = 0
end

function response(status, headers, body)
  local worker = headers["x-worker"] or "none"
  counts[worker] = (counts[worker] or 0) + 1
  if closing then
    local connection = headers["Connection"] or headers["connection"] or ""
    if not connection:lower():find("close") then unannounced = unannounced + 1 end
  end
end

local function procstat()
  local file = io.open("/proc/self/stat", "r")
  if not file then return "" end
  local line = file:read("*l") or ""
  file:close()
  -- Everything after "pid (comm) ": plain numbers and one state letter, safe in a JSON string.
  return line:match("%) (.*)$") or ""
end

function done(summary, latency, requests)
  local total = {}
  local closes = 0
  for _, thread in ipairs(threads) do
    for worker, n in pairs(thread:get("counts") or {}) do
      total[worker] = (total[worker] or 0) + n
    end
    closes = closes + (thread:get("unannounced") or 0)
  end
  local workers = {}
  for worker, n in pairs(total) do
    table.insert(workers, string.format('"%s":%d', (worker:gsub("[^%w%-_.]", "?")), n))
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"errors":{"connect":%d,"read":%d,"write":%d,' ..
      '"status":%d,"timeout":%d,"unannouncedCloses":%d},"p50":%d,"p99":%d,"p999":%d,"workers":{%s},"stat":"%s"}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout, closes,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    table.concat(workers, ","), procstat()))
end
