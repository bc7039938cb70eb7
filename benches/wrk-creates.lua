-- Creates through wrk: every request a new contact (its own phone), so
-- none is a merge. Run against a started server with a write key:
--
--   ROSTER_KEY=rst_... ROSTER_PHONES=3000000 \
--     wrk -t2 -c8 -d8s -s benches/wrk-creates.lua http://127.0.0.1:7878
--
-- ROSTER_PHONES picks the block of phone numbers, +1984 and 2,000,000 above
-- it (0 to 7,000,000, in steps of 1,000,000): give each run its own, or the
-- second run's creates merge into the first's contacts. It prints how many
-- requests were sent, to compare with the contacts the organization gained.
local key = os.getenv("ROSTER_KEY")
local phones = tonumber(os.getenv("ROSTER_PHONES") or "0")
local threads = {}
local counter = 0
me = 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("me", #threads)
end

function request()
  counter = counter + 1
  local n = me * 400000 + counter
  local body = string.format(
    '{"firstName":"W%d","lastName":"Rk","phone":"+1984%07d","tags":["wrk"]}',
    n, 2000000 + phones + n)
  return wrk.format("POST", "/api/contacts",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key }, body)
end

function done(summary, latency, requests)
  io.write(string.format("requests %d, errors %d\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout))
end
