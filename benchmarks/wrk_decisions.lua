-- wrk script for benchmarks/http_bench.py: single decisions at a fixed pace.
-- Each connection waits SC_DELAY_MS after each answer, so C connections offer about C * 1000 / SC_DELAY_MS
-- requests per second. Subject ids come one per line from SC_IDS; the key from SC_TOKEN.
local ids = {}
for line in io.lines(os.getenv("SC_IDS")) do ids[#ids + 1] = line end
local token = os.getenv("SC_TOKEN")
local pace = tonumber(os.getenv("SC_DELAY_MS") or "20")
local i = 0

request = function()
  i = i + 1
  local body = '{"subject_id":"' .. ids[(i % #ids) + 1]
    .. '","service":"high_speed_rail","purpose":"ticket purchase"}'
  return wrk.format("POST", "/v1/decisions",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end

delay = function() return pace end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "errors": %d, "non_2xx": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, '
    .. '"p99_us": %d, "max_us": %d}\n',
    summary.requests, e.connect + e.read + e.write + e.timeout, e.status, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
