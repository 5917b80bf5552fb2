-- wrk's script for the month-start rush (bench/rush.py runs it):
-- POST /api/v1/wallets/{id}/purchases, each buyer once, through the sale queue.
--
-- A thread is one client with one request in flight; it serves its own slice of the buyers
-- (thread i takes buyers i, i + n, i + 2n, ...), each with their own bearer token and one
-- Idempotency-Key. A buyer the queue holds back (429 with their place in line) sends the same
-- purchase under the same key again after a short pause; a buyer is done at their 201 or at
-- any other answer (counted by status). A thread whose buyers are all done stops itself
-- (see next_buyer), so a run lasts as long as its buyers take.
--
-- The buyers are read from DONGNE_WRK_DATA/buyers, lines "WALLET_ID TOKEN". The results go
-- to DONGNE_WRK_OUT as lines "completed N", "waited N" (429 answers), "status S N",
-- "lat MICROSECONDS" (first request to 201, waits included), "first US" and "last US".

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } dongne_timespec;
int clock_gettime(int clock, dongne_timespec *now);
]]
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("dongne_timespec")
local PAUSE_MS = 50

local function now_us()
   ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
   return tonumber(timespec.tv_sec) * 1000000 + tonumber(timespec.tv_nsec) / 1000
end

local directory = os.getenv("DONGNE_WRK_DATA")
local run = os.getenv("DONGNE_WRK_RUN") or "run"
local FACE_WON = os.getenv("DONGNE_WRK_FACE_WON") or "100000"

local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("index", counter)
   table.insert(threads, thread)
end

-- Per thread (each has its own Lua state): its buyers, where it is, its counters.
local wallets, tokens, turn, pause, first_sent
completed, waited, latencies, statuses, first, last = 0, 0, {}, {}, 0, 0

function init(args)
   local total = tonumber(args[1])
   wallets, tokens = {}, {}
   local line_number = 0
   for line in io.lines(directory .. "/buyers") do
      line_number = line_number + 1
      if line ~= "" and (line_number - index) % total == 0 then
         local wallet, token = line:match("^(%d+) (%S+)$")
         wallets[#wallets + 1] = wallet
         tokens[#tokens + 1] = token
      end
   end
   turn, pause, first_sent = 1, 0, nil
end

function delay()
   return pause
end

function request()
   if turn > #wallets then -- nothing left to buy: ask for something harmless until stopped
      return wrk.format("GET", "/log/checkpoint")
   end
   if first_sent == nil then first_sent = now_us() end
   if first == 0 then first = math.floor(first_sent) end
   local headers = {
      ["Authorization"] = "Bearer " .. tokens[turn],
      ["Idempotency-Key"] = run .. "-" .. wallets[turn],
      ["Content-Type"] = "application/json",
   }
   local path = "/api/v1/wallets/" .. wallets[turn] .. "/purchases"
   return wrk.format("POST", path, headers, '{"face_won":' .. FACE_WON .. '}')
end

-- wrk runs for its whole duration even when every thread stopped itself: a thread done with
-- its buyers leaves a file, and bench/rush.py interrupts wrk (SIGINT) once all threads have.
local function next_buyer()
   turn, pause, first_sent = turn + 1, 0, nil
   last = math.floor(now_us())
   if turn > #wallets then
      local marker = assert(io.open(directory .. "/done-" .. index, "w"))
      marker:close()
      wrk.thread:stop()
   end
end

function response(status, headers, response_body)
   if turn > #wallets then return end
   if status == 201 then
      completed = completed + 1
      latencies[#latencies + 1] = math.floor(now_us() - first_sent)
      next_buyer()
   elseif status == 429 then
      waited = waited + 1
      pause = PAUSE_MS
      local code = response_body and response_body:match('"code"%s*:%s*"([^"]+)"')
      if code ~= "SALE_QUEUE_WAITING" then
         local key = "429 " .. tostring(code)
         statuses[key] = (statuses[key] or 0) + 1
      end
   else
      local code = response_body and response_body:match('"code"%s*:%s*"([^"]+)"')
      local key = code and (status .. " " .. code) or tostring(status)
      statuses[key] = (statuses[key] or 0) + 1
      next_buyer()
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
      out:write("waited ", thread:get("waited"), "\n")
      out:write("first ", string.format("%d", thread:get("first")), "\n")
      out:write("last ", string.format("%d", thread:get("last")), "\n")
      for key, count in pairs(thread:get("statuses")) do
         out:write("status ", key, " ", count, "\n")
      end
      for _, value in ipairs(thread:get("latencies")) do
         out:write("lat ", value, "\n")
      end
   end
   out:close()
end
