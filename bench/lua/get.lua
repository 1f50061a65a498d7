-- GET with an optional Authorization header (BENCH_AUTH).
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
