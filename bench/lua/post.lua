-- POST a fixed form body (BENCH_BODY) with an optional Authorization header (BENCH_AUTH).
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY") or ""
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
