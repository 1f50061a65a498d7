-- Refresh-token rotation: every response's new refresh token is used for a later request.
-- Each wrk thread starts with its own slice of BENCH_TOKENS_FILE (one token per line), at least as many
-- tokens as it has connections, so a token is always available.
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  queue = {}
  local index = 0
  for line in io.lines(os.getenv("BENCH_TOKENS_FILE")) do
    index = index + 1
    if (index % tonumber(os.getenv("BENCH_THREADS"))) + 1 == id then table.insert(queue, line) end
  end
  auth = os.getenv("BENCH_AUTH")
end

function request()
  local token = table.remove(queue, 1) or "exhausted"
  return wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded", ["Authorization"] = auth},
                    "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, headers, body)
  local token = body:match('"refresh_token":"([^"]+)"')
  if token then table.insert(queue, token) end
end

dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
