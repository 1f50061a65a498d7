#!/usr/bin/env python3
"""Tessera benchmark: drives release builds with wrk and writes bench/results.md.

The server under test is pinned to core 1 (`taskset -c 1`), wrk to core 0; 32 connections, 10 s runs
after a 3 s warm-up, three runs per scenario, medians reported. Baseline routes from
`tessera-bench-baseline` (bare Hummingbird, and one ES256 signature with jwt-kit) run in the same
session so every figure is also a ratio to the bare framework on this machine at this moment.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LUA = ROOT / "bench" / "lua"
SERVER_CORE, LOAD_CORE = "1", "0"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_pids(url: str) -> list[int]:
    """The PostgreSQL server processes (postmaster and backends) listening on the URL's port."""
    port = urllib.parse.urlsplit(url).port or 5432
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            comm = (proc / "comm").read_text().strip()
        except OSError:
            continue
        if comm in ("postgres", "postmaster") or (cmdline and cmdline[0].endswith(b"postgres")):
            pids.append(int(proc.name))
    # Keep only the cluster on our port: its postmaster was started with -p PORT (scripts/postgres.sh) and the rest are its children.
    masters = [pid for pid in pids if str(port).encode() in Path(f"/proc/{pid}/cmdline").read_bytes()]
    children = [pid for pid in pids for m in masters if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1] == str(m)]
    return sorted(set(masters + children))


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        try:
            out[pid] = cpu_seconds(pid)
        except (OSError, IndexError):
            pass
    return out


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two samples; a process that appeared meanwhile counts from zero (a new backend)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def http(method: str, url: str, data: dict | None = None, auth: str | None = None, timeout: float = 30) -> tuple[int, dict]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    if auth:
        request.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            return response.status, (json.loads(raw) if raw.startswith(b"{") else {})
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, (json.loads(raw) if raw.startswith(b"{") else {})


def wait_ok(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if http("GET", url, timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} never answered 200")


class Process:
    def __init__(self, argv: list[str], env: dict[str, str], log: Path, core: str = SERVER_CORE):
        self.log = open(log, "ab")
        self.proc = subprocess.Popen(["taskset", "-c", core, *argv], env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def wrk(url: str, script: str, env: dict[str, str], duration: int, connections: int = 32, threads: int = 2, cores: str = LOAD_CORE) -> dict:
    full_env = {**os.environ, **env, "BENCH_LUA_DIR": str(LUA), "BENCH_THREADS": str(threads)}
    # A long timeout: slow scenarios (bcrypt) must count as slow, not as socket errors.
    out = subprocess.run(["taskset", "-c", cores, "wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "60s",
                          "-s", str(LUA / script), url], env=full_env, capture_output=True, text=True, timeout=duration + 60)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
            result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
            return result
    raise RuntimeError(f"wrk printed no result:\n{out.stdout}\n{out.stderr}")


class Bench:
    def __init__(self, args):
        self.args = args
        self.bin = Path(args.bin) if args.bin else ROOT / ".build" / "release"
        self.work = Path(tempfile.mkdtemp(prefix="tessera-bench-"))
        self.results: dict[str, dict] = {}
        self.processes: list[Process] = []
        # PostgreSQL nodes must share a key-encryption key (signing keys are sealed at rest); one per run.
        self.kek = base64.b64encode(secrets.token_bytes(32)).decode()

    # -- lifecycle ---------------------------------------------------------------------------
    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
        env.update({"TESSERA_DATABASE": self.database, "TESSERA_BCRYPT_COST": str(self.args.bcrypt_cost), "TESSERA_LOG_LEVEL": "warning",
                    # Keep the (node-local, in-memory) rate limiter counting (its cost is part of /token) but never tripping.
                    "TESSERA_TOKEN_RATE_LIMIT": "1000000000", "TESSERA_LOGIN_RATE_LIMIT": "1000000000",
                    # The lockout reserves each attempt before checking it (at most threshold in flight per username),
                    # so 32 concurrent right-password logins of one user need a threshold above the connection count.
                    "TESSERA_LOCKOUT_THRESHOLD": "64", "TESSERA_KEY_ENCRYPTION_KEYS": self.kek})
        env.update(extra or {})
        return env

    def cli(self, *argv: str, stdin: str | None = None) -> str:
        return subprocess.run([str(self.bin / "tessera"), *argv], env=self.env(), input=stdin, capture_output=True, text=True,
                              check=True, timeout=60).stdout

    def start(self, argv: list[str], env: dict[str, str], name: str) -> Process:
        process = Process(argv, env, self.work / f"{name}.log")
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            process.stop()

    # -- measurement -------------------------------------------------------------------------
    def scenario(self, name: str, url: str, script: str, env: dict[str, str], pid: int, before_each=None, connections: int = 32) -> dict:
        print(f"  {name} …", flush=True)
        if before_each:
            env = before_each()
        wrk(url, script, env, self.args.warmup, connections)
        runs = []
        for _ in range(self.args.runs):
            if before_each:
                env = before_each()
            runs.append(wrk(url, script, env, self.args.duration, connections))
        result = {
            "rps": statistics.median(r["rps"] for r in runs),
            "p50_ms": statistics.median(r["p50_us"] for r in runs) / 1000,
            "p99_ms": statistics.median(r["p99_us"] for r in runs) / 1000,
            "non2xx": sum(r["non2xx"] for r in runs),
            "socket_errors": sum(r["socket_errors"] for r in runs),
            "peak_rss_mib": rss_kib(pid, "VmHWM") / 1024,
            "runs_rps": [round(r["rps"]) for r in runs],
        }
        self.results[name] = result
        print(f"    {result['rps']:.0f} req/s, p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms, non-2xx {result['non2xx']}", flush=True)
        return result

    def run(self) -> None:
        if self.args.postgres:
            self.database = self.args.postgres
        else:
            self.database = str(self.work / "bench.sqlite")
        tessera_port, api_port, baseline_port = free_port(), free_port(), free_port()
        issuer = f"http://127.0.0.1:{tessera_port}"
        self.cli("migrate")
        secret_user = "bench-" + secrets.token_hex(4)
        password = secrets.token_urlsafe(16)
        self.cli("user", "add", secret_user, "--password-stdin", "--scope", "read", "--scope", "write", stdin=password)
        client = json.loads(self.cli("client", "add", "bench", "--grant", "client_credentials", "--grant", "password",
                                     "--grant", "refresh_token", "--scope", "read", "--scope", "write", "--json"))
        basic = "Basic " + base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()

        # Cold start and idle memory.
        starts = []
        for i in range(5):
            t0 = time.monotonic()
            process = Process([str(self.bin / "tessera"), "serve", "--port", str(tessera_port)], self.env(), self.work / f"cold{i}.log")
            wait_ok(f"{issuer}/healthz")
            starts.append((time.monotonic() - t0) * 1000)
            if i < 4:
                process.stop()
        self.processes.append(process)
        tessera = process
        time.sleep(2)
        self.results["cold_start_ms"] = {"median": statistics.median(starts), "all": [round(s, 1) for s in starts]}
        self.results["idle_rss_mib"] = rss_kib(tessera.pid) / 1024

        baseline = self.start([str(self.bin / "tessera-bench-baseline")], {**os.environ, "BASELINE_PORT": str(baseline_port)}, "baseline")
        wait_ok(f"http://127.0.0.1:{baseline_port}/hello")
        api = self.start([str(self.bin / "tessera-example-api")], {**os.environ, "TESSERA_ISSUER": issuer, "EXAMPLE_API_PORT": str(api_port),
                                                                   "EXAMPLE_API_HOST": "127.0.0.1"}, "api")
        wait_ok(f"http://127.0.0.1:{api_port}/healthz")
        print("scenarios:", flush=True)

        self.scenario("baseline GET /hello", f"http://127.0.0.1:{baseline_port}/hello", "get.lua", {}, baseline.pid)
        self.scenario("baseline GET /sign (ES256)", f"http://127.0.0.1:{baseline_port}/sign", "get.lua", {}, baseline.pid)
        self.scenario("baseline POST /form", f"http://127.0.0.1:{baseline_port}/form", "post.lua", {"BENCH_BODY": "token=" + "x" * 600}, baseline.pid)
        cc_env = {"BENCH_BODY": "grant_type=client_credentials&scope=read", "BENCH_AUTH": basic}
        self.scenario("client_credentials", f"{issuer}/token", "post.lua", cc_env, tessera.pid)

        def password_token() -> dict:
            return http("POST", f"{issuer}/token", {"grant_type": "password", "username": secret_user, "password": password,
                                                    "scope": "read write"}, basic)[1]

        def seed_refresh_tokens() -> dict[str, str]:
            with ThreadPoolExecutor(max_workers=4) as pool:
                tokens = [r["refresh_token"] for r in pool.map(lambda _: password_token(), range(48))]
            path = self.work / "refresh-tokens.txt"
            path.write_text("\n".join(tokens) + "\n")
            return {"BENCH_TOKENS_FILE": str(path), "BENCH_AUTH": basic}

        self.scenario("refresh_token rotation", f"{issuer}/token", "refresh.lua", {}, tessera.pid, before_each=seed_refresh_tokens)
        access = password_token()["access_token"]
        status, _ = http("POST", f"{issuer}/introspect", {"token": access}, basic)
        if status == 200:
            self.scenario("/introspect (JWT)", f"{issuer}/introspect", "post.lua",
                          {"BENCH_BODY": "token=" + access, "BENCH_AUTH": basic}, tessera.pid)
        self.scenario("GET /jwks.json", f"{issuer}/jwks.json", "get.lua", {}, tessera.pid)
        self.scenario("example API GET /users/me", f"http://127.0.0.1:{api_port}/users/me", "get.lua", {"BENCH_AUTH": "Bearer " + access}, api.pid)

        password_env = {"BENCH_BODY": urllib.parse.urlencode({"grant_type": "password", "username": secret_user, "password": password}),
                        "BENCH_AUTH": basic}
        verify_ms = float(subprocess.run([str(self.bin / "tessera-bench-baseline"), "--bcrypt-verify-ms", str(self.args.bcrypt_cost)],
                                         capture_output=True, text=True, check=True).stdout)
        self.results["bcrypt_verify_ms"] = verify_ms

        def drained_password_env() -> dict[str, str]:
            # wrk stops with 32 requests still queued for bcrypt (~8 s of work at cost 12 on one core); the
            # server finishes them after wrk has gone. Let that backlog drain so each run starts from an idle
            # server instead of measuring the previous run's leftovers.
            time.sleep(32 * verify_ms / 1000 + 1)
            return password_env

        self.scenario("password grant", f"{issuer}/token", "post.lua", password_env, tessera.pid, before_each=drained_password_env)

        # client_credentials p99 while a password-grant load runs at the same time.
        print("  client_credentials under password load …", flush=True)
        loaded = []
        for _ in range(self.args.runs):
            background = subprocess.Popen(["taskset", "-c", LOAD_CORE, "wrk", "-t1", "-c4", f"-d{self.args.duration + 4}s", "-s",
                                           str(LUA / "post.lua"), f"{issuer}/token"],
                                          env={**os.environ, **password_env, "BENCH_LUA_DIR": str(LUA)}, stdout=subprocess.DEVNULL)
            time.sleep(2)
            loaded.append(wrk(f"{issuer}/token", "post.lua", cc_env, self.args.duration))
            background.wait()
        self.results["client_credentials under password load"] = {
            "rps": statistics.median(r["rps"] for r in loaded),
            "p50_ms": statistics.median(r["p50_us"] for r in loaded) / 1000,
            "p99_ms": statistics.median(r["p99_us"] for r in loaded) / 1000,
            "non2xx": sum(r["non2xx"] for r in loaded), "socket_errors": sum(r["socket_errors"] for r in loaded),
            "peak_rss_mib": rss_kib(tessera.pid, "VmHWM") / 1024, "runs_rps": [round(r["rps"]) for r in loaded],
        }
        self.results["peak_rss_mib"] = rss_kib(tessera.pid, "VmHWM") / 1024

    # -- scale-out (PostgreSQL, one node and two) -----------------------------------------------
    def scale_out(self, path: Path) -> None:
        """The hot scenarios against one node, then two nodes sharing one PostgreSQL database.

        On a small machine the nodes cannot each get cores of their own with wrk and PostgreSQL elsewhere, so every
        figure is also computed per server core: each node is pinned to one core, wrk and PostgreSQL float over all of
        them, and the CPU time each process used during the run (utime + stime from /proc) turns req/s into req/s per
        server core and PostgreSQL CPU per request. Per-node efficiency that holds with two nodes means the second node
        adds what its core can do until PostgreSQL's own CPU per request saturates the database's cores."""
        assert self.args.postgres, "--scale-out needs --postgres"
        self.database = self.args.postgres
        self.cli("migrate")
        user, password = "bench-" + secrets.token_hex(4), secrets.token_urlsafe(16)
        self.cli("user", "add", user, "--password-stdin", "--scope", "read", "--scope", "write", stdin=password)
        client = json.loads(self.cli("client", "add", "bench", "--grant", "client_credentials", "--grant", "password",
                                     "--grant", "refresh_token", "--scope", "read", "--scope", "write", "--json"))
        basic = "Basic " + base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
        all_cores = ",".join(str(c) for c in range(os.cpu_count() or 2))
        rows, summary = [], {}
        for topology, cores in [("1 node", [SERVER_CORE]), ("2 nodes", [LOAD_CORE, SERVER_CORE])]:
            nodes = []
            for i, core in enumerate(cores):
                port = free_port()
                process = Process([str(self.bin / "tessera"), "serve", "--port", str(port)], self.env({"TESSERA_ISSUER": "http://127.0.0.1:9"}),
                                  self.work / f"node{i}.log", core=core)
                self.processes.append(process)
                nodes.append((process, f"http://127.0.0.1:{port}"))
            for _, base in nodes:
                wait_ok(f"{base}/healthz")
            first = nodes[0][1]

            def password_token() -> dict:
                return http("POST", f"{first}/token", {"grant_type": "password", "username": user, "password": password, "scope": "read write"}, basic)[1]

            def refresh_envs() -> list[dict[str, str]]:
                envs = []
                for i in range(len(nodes)):
                    with ThreadPoolExecutor(max_workers=4) as pool:
                        tokens = [r["refresh_token"] for r in pool.map(lambda _: password_token(), range(40))]
                    file = self.work / f"scale-refresh-{i}.txt"
                    file.write_text("\n".join(tokens) + "\n")
                    envs.append({"BENCH_TOKENS_FILE": str(file), "BENCH_AUTH": basic})
                return envs

            access = password_token()["access_token"]
            scenarios = [
                ("client_credentials", "/token", "post.lua", lambda: [{"BENCH_BODY": "grant_type=client_credentials&scope=read", "BENCH_AUTH": basic}] * len(nodes)),
                ("refresh_token rotation", "/token", "refresh.lua", refresh_envs),
                ("/introspect (JWT)", "/introspect", "post.lua", lambda: [{"BENCH_BODY": "token=" + access, "BENCH_AUTH": basic}] * len(nodes)),
            ]
            for name, route, script, make_envs in scenarios:
                print(f"  {topology}: {name} …", flush=True)
                per_run = []
                for run in range(self.args.runs + 1):  # the first run warms up
                    envs = make_envs()
                    connections = 32 // len(nodes)
                    before = ([cpu_seconds(p.pid) for p, _ in nodes], cpu_by_pid(postgres_pids(self.args.postgres)), time.monotonic())
                    with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
                        futures = [pool.submit(wrk, f"{base}{route}", script, env, self.args.duration, connections, 1, all_cores)
                                   for (_, base), env in zip(nodes, envs)]
                        results = [f.result() for f in futures]
                    elapsed = time.monotonic() - before[2]
                    node_cores = [(cpu_seconds(p.pid) - b) / elapsed for (p, _), b in zip(nodes, before[0])]
                    pg_cores = cpu_delta(before[1], cpu_by_pid(postgres_pids(self.args.postgres))) / elapsed
                    if run == 0:
                        continue
                    total = sum(r["rps"] for r in results)
                    per_run.append({"rps": total, "per_node": [r["rps"] for r in results], "node_cores": node_cores, "pg_cores": pg_cores,
                                    "p99_ms": max(r["p99_us"] for r in results) / 1000, "errors": sum(r["non2xx"] + r["socket_errors"] for r in results)})
                best = sorted(per_run, key=lambda r: r["rps"])[len(per_run) // 2]
                server_cores = sum(best["node_cores"])
                entry = {**best, "server_cores": server_cores, "rps_per_server_core": best["rps"] / server_cores if server_cores else 0,
                         "pg_ms_per_1000": 1000 * best["pg_cores"] / best["rps"] * 1000 if best["rps"] else 0,
                         "runs_rps": [round(r["rps"]) for r in per_run]}
                summary[(topology, name)] = entry
                rows.append(f"| {topology} | {name} | {entry['rps']:.0f} | {' + '.join(f'{x:.0f}' for x in entry['per_node'])} | "
                            f"{' + '.join(f'{c:.2f}' for c in entry['node_cores'])} | {entry['rps_per_server_core']:.0f} | {entry['pg_cores']:.2f} | "
                            f"{entry['pg_ms_per_1000']:.0f} | {entry['p99_ms']:.1f} | {entry['errors']} | {entry['runs_rps']} |")
                print(f"    {entry['rps']:.0f} req/s ({entry['rps_per_server_core']:.0f} per server core), PostgreSQL {entry['pg_cores']:.2f} cores", flush=True)
            for process, _ in nodes:
                process.stop()
            self.processes = [p for p in self.processes if p not in [n for n, _ in nodes]]
        gains = []
        for name in ["client_credentials", "refresh_token rotation", "/introspect (JWT)"]:
            one, two = summary[("1 node", name)], summary[("2 nodes", name)]
            pg_limit = (1000 * 1000 / one["pg_ms_per_1000"]) if one["pg_ms_per_1000"] else float("inf")
            gains.append(f"| {name} | {two['rps'] / one['rps']:.2f} × | {one['rps_per_server_core']:.0f} → {two['rps_per_server_core']:.0f} "
                         f"({two['rps_per_server_core'] / one['rps_per_server_core']:.2f} ×) | {pg_limit:.0f} |")
        cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("model name")), "?")
        commit = self.args.commit or subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        text = f"""# Tessera scale-out on PostgreSQL: one node and two

Produced by `bench/run.sh --postgres --scale-out` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {commit};
{cpu}, {os.cpu_count()} cores. Each node is pinned to its own core ({SERVER_CORE} for one node; {LOAD_CORE} and {SERVER_CORE} for two), wrk (one
process per node, 32 connections in all) and PostgreSQL float over every core; {self.args.runs} runs of {self.args.duration} s after a warm-up run,
the median run shown. CPU figures are measured (utime + stime during the run ÷ its length), so "req/s per server core"
does not depend on how the nodes shared the machine with wrk and PostgreSQL.

| topology | scenario | total req/s | per node req/s | node CPU (cores) | req/s per server core | PostgreSQL CPU (cores) | PostgreSQL CPU ms per 1000 req | worst p99 ms | errors | runs |
| --- | --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |
{chr(10).join(rows)}

## Gain of the second node

| scenario | total req/s, 2 nodes ÷ 1 | req/s per server core, 1 node → 2 | PostgreSQL ceiling (req/s per PostgreSQL core, from its CPU per request) |
| --- | ---: | --- | ---: |
{chr(10).join(gains)}
"""
        path.write_text(text)
        path.with_suffix(".json").write_text(json.dumps({f"{k[0]} / {k[1]}": v for k, v in summary.items()}, indent=2))
        print(text)

    # -- report ------------------------------------------------------------------------------
    def write(self, path: Path) -> None:
        r = self.results
        def fig(name: str, key: str = "rps", fmt: str = "{:.0f}") -> str:
            return fmt.format(r[name][key]) if name in r else "n/a"
        hello, sign = r["baseline GET /hello"]["rps"], r["baseline GET /sign (ES256)"]["rps"]
        cores = 1
        password_target = 0.9 * cores / (r["bcrypt_verify_ms"] / 1000)
        rows = []
        for name in ["baseline GET /hello", "baseline GET /sign (ES256)", "baseline POST /form", "client_credentials", "refresh_token rotation", "/introspect (JWT)",
                     "GET /jwks.json", "example API GET /users/me", "password grant", "client_credentials under password load"]:
            if name not in r:
                continue
            x = r[name]
            rows.append(f"| {name} | {x['rps']:.0f} | {x['rps'] / hello:.2f} | {x['rps'] / sign:.2f} | {x['p50_ms']:.2f} | {x['p99_ms']:.2f} | "
                        f"{x['non2xx'] + x['socket_errors']} | {x['peak_rss_mib']:.1f} | {x['runs_rps']} |")
        def target(label: str, measured: str, goal: str, ok: bool) -> str:
            return f"| {label} | {measured} | {goal} | {'met' if ok else 'missed'} |"
        targets = []
        cc = r["client_credentials"]
        targets.append(target("client_credentials ≥ 0.8 × bare ES256 signing", f"{cc['rps'] / sign:.2f} ×", "≥ 0.80 ×", cc["rps"] >= 0.8 * sign))
        rt = r["refresh_token rotation"]
        targets.append(target("refresh_token on " + ("PostgreSQL" if self.args.postgres else "SQLite"), f"{rt['rps']:.0f} req/s", "≥ 2000 req/s", rt["rps"] >= 2000))
        targets.append(target("client_credentials p99 ≤ 3 × p50", f"{cc['p99_ms']:.1f} ms vs {cc['p50_ms']:.1f} ms ({cc['p99_ms'] / cc['p50_ms']:.1f} ×)", "≤ 3 ×",
                              cc["p99_ms"] <= 3 * cc["p50_ms"]))
        me = r["example API GET /users/me"]
        targets.append(target("GET /users/me ≥ 0.8 × bare /hello", f"{me['rps'] / hello:.2f} ×", "≥ 0.80 ×", me["rps"] >= 0.8 * hello))
        if "/introspect (JWT)" in r:
            intro = r["/introspect (JWT)"]
            targets.append(target("/introspect ≥ 0.8 × bare /hello", f"{intro['rps'] / hello:.2f} ×", "≥ 0.80 ×", intro["rps"] >= 0.8 * hello))
            if "baseline POST /form" in r:
                form = r["baseline POST /form"]["rps"]
                targets.append(target("(context) /introspect ÷ bare POST /form (the framework's cost of a form POST)", f"{intro['rps'] / form:.2f} ×",
                                      "", True).replace("| met |", "| |"))
        pw = r["password grant"]
        targets.append(target(f"password grant ≥ 0.9 × cores ÷ verify (cost {self.args.bcrypt_cost}, verify {r['bcrypt_verify_ms']:.1f} ms, {cores} core)",
                              f"{pw['rps']:.2f} req/s", f"≥ {password_target:.2f} req/s", pw["rps"] >= password_target))
        loaded = r["client_credentials under password load"]
        targets.append(target("client_credentials p99 under password load ≤ 2 × unloaded", f"{loaded['p99_ms']:.2f} ms vs {cc['p99_ms']:.2f} ms",
                              "≤ 2 ×", loaded["p99_ms"] <= 2 * cc["p99_ms"]))
        targets.append(target("cold start (exec → first 200)", f"{r['cold_start_ms']['median']:.0f} ms", "≤ 100 ms", r["cold_start_ms"]["median"] <= 100))
        targets.append(target("idle RSS", f"{r['idle_rss_mib']:.1f} MiB", "≤ 40 MiB", r["idle_rss_mib"] <= 40))
        cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("model name")), "?")
        swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()[0] if shutil.which("swift") else "?"
        wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[0] if shutil.which("wrk") else "?"
        commit = self.args.commit or subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        text = f"""# Tessera benchmark results

Produced by `bench/run.sh{' --postgres' if self.args.postgres else ''}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.

- machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}
- {swift}; {wrk_version}; commit {commit}
- store: {'PostgreSQL' if self.args.postgres else 'SQLite (WAL)'}; bcrypt cost {self.args.bcrypt_cost}
- server pinned to core {SERVER_CORE}, wrk to core {LOAD_CORE}; {self.args.runs} runs of {self.args.duration} s after a {self.args.warmup} s warm-up, 32 connections, medians

## Figures

| scenario | req/s | × /hello | × /sign | p50 ms | p99 ms | non-2xx + socket errors | peak RSS MiB | runs (req/s) |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |
{chr(10).join(rows)}

Cold start (exec → first 200 on /healthz): median {r['cold_start_ms']['median']:.0f} ms of {r['cold_start_ms']['all']} ms.
Idle RSS {r['idle_rss_mib']:.1f} MiB; peak RSS over the whole run {r['peak_rss_mib']:.1f} MiB.
bcrypt verify at cost {self.args.bcrypt_cost}: {r['bcrypt_verify_ms']:.1f} ms (one core).

## Targets

| target | measured | goal | |
| --- | --- | --- | --- |
{chr(10).join(targets)}
"""
        path.write_text(text)
        (path.with_suffix(".json")).write_text(json.dumps(self.results, indent=2))
        print(text)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", metavar="URL", help="benchmark against PostgreSQL at URL instead of SQLite")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bcrypt-cost", type=int, default=12)
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.md"))
    parser.add_argument("--bin", help="directory holding the release binaries (default .build/release), e.g. a copy of an earlier build")
    parser.add_argument("--commit", help="the commit those binaries were built from (default HEAD)")
    parser.add_argument("--scale-out", action="store_true",
                        help="with --postgres: only the hot scenarios on one node and on two (writes bench/scale-out.md unless --output)")
    args = parser.parse_args()
    bench = Bench(args)
    try:
        if args.scale_out:
            output = Path(args.output) if args.output != parser.get_default("output") else ROOT / "bench" / "scale-out.md"
            bench.scale_out(output)
            return
        bench.run()
        bench.write(Path(args.output))
    finally:
        bench.stop_all()


if __name__ == "__main__":
    main()
