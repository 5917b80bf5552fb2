-- wrk's script for the HTTP bench (bench/wrk.py runs it): POST /api/v1/payments/qr.
--
-- wrk runs as many threads as connections, so a thread is one client with one request in
-- flight, and it pays with its own slice of the citizens in turn (thread i takes citizens i,
-- i + n, i + 2n, ...), each request with its own bearer token and a fresh Idempotency-Key.
-- The citizens' tokens and the merchants' request bodies are read from files bench/wrk.py
-- writes.
--
-- Closed loop: the next request leaves when the last answer came. Open loop
-- (DONGNE_WRK_RATE set, requests a second in all): each thread sends on a fixed schedule,
-- and a request's latency counts from its scheduled time, so a slow answer that delays the
-- next request is counted against that request too, not hidden (wrk2's correction).
--
-- Only requests scheduled (open loop) or sent (closed loop) after the warm-up count; the
-- results go to DONGNE_WRK_OUT as lines "completed N", "status S N", "lat MICROSECONDS".

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } dongne_timespec;
int clock_gettime(int clock, dongne_timespec *now);
]]
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("dongne_timespec")

local function now_us()
   ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
   return tonumber(timespec.tv_sec) * 1000000 + tonumber(timespec.tv_nsec) / 1000
end

local function lines(path)
   local found = {}
   for line in io.lines(path) do
      if line ~= "" then found[#found + 1] = line end
   end
   return found
end

local directory = os.getenv("DONGNE_WRK_DATA")
local rate = tonumber(os.getenv("DONGNE_WRK_RATE") or "")
local warmup_us = tonumber(os.getenv("DONGNE_WRK_WARMUP_S") or "0") * 1000000
local run = os.getenv("DONGNE_WRK_RUN") or "run"

local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("index", counter)
   table.insert(threads, thread)
end

-- Per thread (each has its own Lua state): its citizens, its merchant, its counters.
local tokens, body, turn, began, interval, next_slot, started
completed, latencies, statuses = 0, {}, {}

function init(args)
   local total = tonumber(args[1])
   local all = lines(directory .. "/tokens")
   local bodies = lines(directory .. "/bodies")
   tokens = {}
   for i = index, #all, total do tokens[#tokens + 1] = all[i] end
   if #tokens == 0 then -- more threads than citizens: some citizens serve two
      tokens[1] = all[(index - 1) % #all + 1]
   end
   body = bodies[(index - 1) % #bodies + 1]
   turn = 0
   began = now_us()
   if rate then
      interval = total * 1000000 / rate
      -- spread the threads' first requests over one interval instead of all at once
      next_slot = began + interval * (index - 1) / total
   end
end

if rate then
   function delay()
      return math.max(0, (next_slot - now_us()) / 1000)
   end
end

function request()
   turn = turn + 1
   if rate then
      started = next_slot
      next_slot = next_slot + interval
   else
      started = now_us()
   end
   local token = tokens[(turn - 1) % #tokens + 1]
   local headers = {
      ["Authorization"] = "Bearer " .. token,
      ["Idempotency-Key"] = run .. "-" .. index .. "-" .. turn,
      ["Content-Type"] = "application/json",
   }
   return wrk.format("POST", "/api/v1/payments/qr", headers, body)
end

function response(status, headers, response_body)
   if status ~= 201 then
      local code = response_body and response_body:match('"code"%s*:%s*"([^"]+)"')
      local key = code and (status .. " " .. code) or tostring(status)
      statuses[key] = (statuses[key] or 0) + 1
   elseif started - began >= warmup_us then
      completed = completed + 1
      latencies[#latencies + 1] = math.floor(now_us() - started)
   end
end

function done(summary, latency, requests)
   local out = assert(io.open(os.getenv("DONGNE_WRK_OUT"), "w"))
   out:write("requests ", summary.requests, "\n")
   local errors = summary.errors
   for _, kind in ipairs({ "connect", "read", "write", "timeout" }) do
      if errors[kind] > 0 then out:write("status ", kind, " ", errors[kind], "\n") end
   end
   for _, thread in ipairs(threads) do
      out:write("completed ", thread:get("completed"), "\n")
      for key, count in pairs(thread:get("statuses")) do
         out:write("status ", key, " ", count, "\n")
      end
      for _, value in ipairs(thread:get("latencies")) do
         out:write("lat ", value, "\n")
      end
   end
   out:close()
end
