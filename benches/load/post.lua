-- wrk script for benches/load.sh: POSTs one JSON payload with a unique
-- X-Atlassian-Webhook-Identifier per request, so the gateway's dedup check and
-- `seen` insert run for every request and none is answered as a duplicate.
--
-- Environment (read by every Lua state wrk creates):
--   LOAD_PAYLOAD  path of the JSON body (required)
--   LOAD_RUN      prefix that keeps identifiers unique across runs (default: time)
--   LOAD_EVENTS   if set, send exactly this many POSTs in total, then stop; once a
--                 thread has sent its share, its connections send GET /healthz
--                 (answered 200, stores nothing) until its POSTs are all answered
--   LOAD_THREADS  wrk's -t, needed to split LOAD_EVENTS between threads

local payload_path = assert(os.getenv("LOAD_PAYLOAD"), "LOAD_PAYLOAD is not set")
local file = assert(io.open(payload_path, "rb"))
local payload = file:read("*a")
file:close()

local run = os.getenv("LOAD_RUN") or tostring(os.time())
local events = tonumber(os.getenv("LOAD_EVENTS") or "")
local threads = tonumber(os.getenv("LOAD_THREADS") or "1")

-- In wrk's main Lua state: number the threads and give each its share of events.
local created = 0
function setup(thread)
   created = created + 1
   thread:set("tid", created)
   if events then
      local share = math.floor(events / threads)
      if created <= events % threads then
         share = share + 1
      end
      thread:set("quota", share)
   end
end

local head, tail, health
local counter = 0
local sent = 0
local answered = 0

function init(args)
   -- Built once: per request only the identifier is spliced in (one copy of the
   -- body), so wrk spends as little CPU as it can on the cores it shares.
   head = "POST " .. wrk.path .. " HTTP/1.1\r\n" ..
      "Host: " .. (wrk.headers["Host"] or (wrk.host .. ":" .. wrk.port)) .. "\r\n" ..
      "Content-Type: application/json\r\n" ..
      "Content-Length: " .. #payload .. "\r\n" ..
      "X-Atlassian-Webhook-Identifier: " .. run .. "-" .. tid .. "-"
   tail = "\r\n\r\n" .. payload
   health = "GET /healthz HTTP/1.1\r\nHost: " .. (wrk.headers["Host"] or (wrk.host .. ":" .. wrk.port)) .. "\r\n\r\n"
   -- wrk 4 calls request() once on the first thread to check the script, before
   -- any connection exists; that request is never sent, so it must not count.
   if tid == 1 then
      sent = -1
   end
end

function request()
   if quota and sent >= quota then
      return health
   end
   counter = counter + 1
   sent = sent + 1
   return head .. counter .. tail
end

if events then
   -- Defined only for counted runs: wrk parses responses only when it exists.
   function response(status, headers, body)
      -- /healthz answers 200; a POST answers 202 or an error, never 200.
      if status ~= 200 then
         answered = answered + 1
         if answered >= quota then
            wrk.thread:stop()
         end
      end
   end
end

-- In the main state once all threads stopped: a line load.sh parses (times in us).
function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "LOADRESULT requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
      "status=%d connect=%d read=%d write=%d timeout=%d\n",
      summary.requests, summary.duration,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      e.status, e.connect, e.read, e.write, e.timeout))
end
