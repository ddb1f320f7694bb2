-- Shared wrk script. The harness sets these globals per scenario before this file:
--   tessera_body     request body; "{code}", "{customer}" are replaced per request
--   tessera_codes    number of codes to rotate over ("{code}" = prefix .. n), 0 for a fixed body
--   tessera_prefix   code prefix
--   tessera_key      API key
--   tessera_idem     true to send a unique Idempotency-Key
--   tessera_idem_prefix  how those keys begin (the harness counts a run's answers by it)
--   tessera_limit    stop each thread after this many responses (0 = run for the duration)
--   tessera_method   "POST" (with tessera_body) or "GET"
--   tessera_path     "" for wrk's URL, or a path in which "{code}" is replaced like the body's
local counter, seen = 0, 0
created, refused, errors = 0, 0, 0  -- globals, so done() can read them per thread
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + id * 7919)
end

function request()
  counter = counter + 1
  local tag = id .. "-" .. counter .. "-" .. math.random(1, 1000000000)
  local code = tessera_prefix
  if tessera_codes > 0 then code = tessera_prefix .. math.random(0, tessera_codes - 1) end
  local body = (tessera_body:gsub("{code}", code))
  body = (body:gsub("{customer}", "cus-" .. tag))
  local path = nil
  if tessera_path ~= "" then path = (tessera_path:gsub("{code}", code)) end
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tessera_key,
  }
  if tessera_idem then headers["Idempotency-Key"] = tessera_idem_prefix .. tag end
  if tessera_method == "GET" then return wrk.format("GET", path, headers, nil) end
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  seen = seen + 1
  if status == 200 or status == 201 then created = created + 1
  elseif status == 409 then refused = refused + 1
  else errors = errors + 1 end
  if tessera_limit > 0 and seen >= tessera_limit then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local ok, no, bad = 0, 0, 0
  for _, t in ipairs(threads) do
    ok = ok + t:get("created"); no = no + t:get("refused"); bad = bad + t:get("errors")
  end
  io.write(string.format(
    'TESSERA_RESULT {"requests": %d, "seconds": %.3f, "p50_ms": %.3f, "p99_ms": %.3f, ' ..
    '"ok": %d, "refused": %d, "errors": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, ok, no, bad,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
