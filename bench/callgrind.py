#!/usr/bin/env python3
"""Instructions per request, split by component, with callgrind (issue 19).

Wall time on this shared 2-core machine is noisy; instruction counts under callgrind repeat. This runs the release
`tessera` (SQLite in a temporary directory, 127.0.0.1) under

    valgrind --tool=callgrind --separate-callers=<depth> --dump-instr=no --compress-strings=no --compress-pos=no

and for each scenario (client_credentials, /introspect of a JWT, refresh_token rotation): sends a warm-up, zeroes the
counters (`callgrind_control -z`), sends a FIXED number N of requests from one sequential keep-alive client
(http.client; every response must be 200), dumps (`callgrind_control -d`) and attributes the dumped instructions to
components. Counts are per request (÷ N) and include every thread of the server during the window (event loops, the
SQLite thread pool, the audit flusher), so background work caused by the requests is included. Kernel time (syscalls,
fsync) is not an instruction of the process and is not counted.

Attribution. `--separate-callers` makes callgrind keep each function's self cost per caller chain (up to <depth>
frames). Every frame of a chain is demangled (`swift demangle`) and classified by the first rule in COMPONENTS whose
pattern matches its names (generic arguments, parameter lists and result types removed first); allocation, ARC, libc and crypto primitives such as
SHA-256 match no rule, so they count for whoever called them. A cost goes to the innermost classified frame of its
chain, except that an `audit` or `metrics` frame anywhere in the chain takes precedence (their serialisation and
locking count as audit/metrics). Work done after an async hop (the SQLite thread pool, a resumed task) is attributed
by its own stack: SQLite statements of the audit flush count as `store`. A chain with no classified frame is `other`.

    bench/callgrind.sh                       # N=1000 per scenario, writes bench/callgrind-<commit>.md
    bench/callgrind.sh --requests 500 --output /tmp/cg.md
"""
from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import ROOT, free_port, wait_ok  # noqa: E402  (reuse bench.py's helpers)

# (component, regex on the demangled frame name). Order matters: the first match classifies a frame.
COMPONENTS: list[tuple[str, str]] = [
    ("audit", r"Audit"),
    ("metrics", r"\bMetrics\.|CoreMetrics\.|Prometheus|TesseraMetrics|HTTPMetricsMiddleware|MetricsAuditSink"),
    ("store: SQLite engine", r"^sqlite3|\bsqlite3[A-Za-z_]*\b|^(sqlite3|pcache|btree|vdbe|pager)"),
    ("store: SQLiteNIO/SQLKit/TesseraStore", r"\bSQLiteNIO\.|\bSQLKit\.|\bSQLiteKit\.|\bTesseraStore\.|\bPostgresNIO\.|\bPostgresKit\."),
    ("JSON", r"JSONEncoder|JSONDecoder|JSONSerialization|JSONObjectWriter|JSONObjectBytes|JSONBytes|JSONWriter|JSONScanner|JSONMap|__JSON|JSONValue"),
    ("claims and signing / JWT verification",
     r"JWTKit\.|CompactJWS|AccessTokenMinter|IDTokenMinter|AccessTokenClaims|IDTokenClaims|SigningKey|JWSAlgorithm|ECDSA|\bP256\b"
     r"|TokenIntrospect|Base64URL"),
    ("client authentication", r"ClientAuthenticator|constantTimeEquals|\bSecrets\.|ClientSecret|BCrypt|bcrypt"),
    ("form/Basic parsing", r"FormBody|FormRequest|FormURLEncoding|BasicAuthorization|BasicCredentials|BearerCredentials|percentDecod|removingPercentEncoding"),
    ("rate limit/other middleware", r"RateLimit|SecurityHeadersMiddleware|ForwardedHeaders|ConnectionGuard"),
    ("Tessera grants/routes (rest)", r"\bTessera(Core|Server|JOSE)\."),
    ("HTTP (NIO/Hummingbird)", r"\bNIO[A-Za-z0-9]*\.|\bHummingbird[A-Za-z]*\.|\bHTTPTypes\.|llhttp|\bc_nio_|CNIO"),
    ("Swift concurrency runtime", r"^swift_task|^swift_job|^swift::(Async|Job|Task|Default)|swift_continuation|swift_asyncLet|^swift_defaultActor"
     r"|^swift::runJob|TaskExecutor|SerialExecutor"),
    ("logging", r"\bLogging\.|Logger\b"),
]
DOMINANT = {"audit", "metrics"}
ORDER = [name for name, _ in COMPONENTS] + ["other"]
PATTERNS = [(name, re.compile(p)) for name, p in COMPONENTS]


def strip_types(name: str) -> str:
    """The names in a demangled frame without generic arguments, parameter lists or result types, so that a rule
    matches what a function is (`ClientAuthenticator.authenticate`), not what it takes (`audit: AuditOrigin`)."""
    out, depth = [], 0
    for ch in name:
        if ch in "<(":
            depth += 1
        elif ch in ">)" and depth:
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return re.sub(r"\s*->\s*\S+", "", "".join(out))


def demangle(names: list[str], simplified: bool = False) -> dict[str, str]:
    """Demangles Swift symbols (one per line through `swift demangle`); other names stay as they are."""
    if not names:
        return {}
    argv = ["swift", "demangle"] + (["--simplified"] if simplified else [])
    out = subprocess.run(argv, input="\n".join(names) + "\n", capture_output=True, text=True, check=True).stdout.split("\n")
    return {name: (out[i] if i < len(out) else name) for i, name in enumerate(names)}


def classify(frame: str) -> str | None:
    stripped = strip_types(frame)
    for name, pattern in PATTERNS:
        if pattern.search(stripped):
            return name
    return None


def parse_callgrind(path: Path) -> tuple[dict[str, int], int]:
    """Self Ir per function context from an uncompressed callgrind dump (`--compress-strings=no --compress-pos=no`)."""
    self_cost: dict[str, int] = defaultdict(int)
    total = 0
    fn = None
    after_calls = False
    with open(path, errors="replace") as f:
        for line in f:
            if not line or line[0] == "\n":
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                if after_calls:  # the inclusive cost of a call, not self cost
                    after_calls = False
                    continue
                parts = line.split()
                if len(parts) >= 2 and fn is not None:
                    self_cost[fn] += int(parts[1])
                continue
            if line.startswith("fn="):
                fn = line[3:].rstrip("\n")
            elif line.startswith("calls="):
                after_calls = True
            elif line.startswith("summary:") or line.startswith("totals:"):
                total = max(total, int(line.split()[1]))
    return self_cost, total


def attribute(self_cost: dict[str, int]) -> tuple[dict[str, int], list[tuple[int, str, str]], list[tuple[int, str, str]]]:
    """Ir per component; the top functions by self cost; the top classifying frames (the frame a cost was charged
    through: e.g. `SQLIdentifier.serialize` for the allocations and string work it calls)."""
    frames = sorted({frame for ctx in self_cost for frame in ctx.split("'")})
    full = demangle(frames)
    category = {frame: classify(full[frame]) for frame in frames}
    buckets: dict[str, int] = defaultdict(int)
    per_function: dict[tuple[str, str], int] = defaultdict(int)
    per_owner: dict[tuple[str, str], int] = defaultdict(int)
    for ctx, cost in self_cost.items():
        chain = ctx.split("'")  # innermost first
        cats = [category[f] for f in chain]
        owner = next((i for i in range(len(chain) - 1, -1, -1) if cats[i] in DOMINANT), None)
        if owner is None:
            owner = next((i for i, c in enumerate(cats) if c), None)
        chosen = cats[owner] if owner is not None else "other"
        buckets[chosen] += cost
        per_function[(chain[0], chosen)] += cost
        per_owner[(chain[owner] if owner is not None else chain[-1], chosen)] += cost
    top = sorted(((cost, name, cat) for (name, cat), cost in per_function.items()), reverse=True)[:10]
    owners = sorted(((cost, name, cat) for (name, cat), cost in per_owner.items()), reverse=True)[:20]
    short = demangle(sorted({name for _, name, _ in top + owners}), simplified=True)
    return (dict(buckets), [(cost, short[name], cat) for cost, name, cat in top],
            [(cost, short[name], cat) for cost, name, cat in owners])


class Client:
    """One sequential keep-alive HTTP/1.1 connection; reconnects if the server closes it."""

    def __init__(self, port: int, timeout: float):
        self.port, self.timeout, self.conn = port, timeout, None

    def get(self, path: str) -> bytes:
        return self.post(path, None, None, method="GET")

    def post(self, path: str, form: dict[str, str] | None, auth: str | None, method: str = "POST"):
        body = urllib.parse.urlencode(form) if form is not None else None
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": auth} if form is not None else {}
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body, headers)
                response = self.conn.getresponse()
                raw = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                if response.status != 200:
                    raise RuntimeError(f"{method} {path} → {response.status}: {raw[:300]!r}")
                return json.loads(raw) if method == "POST" else raw
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000, help="measured requests per scenario (N)")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured requests before each scenario")
    parser.add_argument("--depth", type=int, default=24, help="callgrind --separate-callers depth")
    parser.add_argument("--scenarios", default="client_credentials,introspect,refresh")
    parser.add_argument("--output", help="markdown report (default bench/callgrind-<shortcommit>.md)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (dumps, logs)")
    parser.add_argument("--bin", help="directory holding the release `tessera` to measure (default .build/release)")
    parser.add_argument("--commit", help="the commit that binary was built from (default HEAD)")
    parser.add_argument("--postgres", metavar="URL", help="run Tessera on this (empty) PostgreSQL database instead of SQLite")
    parser.add_argument("--baseline", action="store_true",
                        help="also measure the bare baselines (tessera-bench-baseline GET /hello and GET /sign) for the ratios")
    args = parser.parse_args()

    binary = (Path(args.bin) if args.bin else ROOT / ".build" / "release") / "tessera"
    commit = args.commit or subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    output = Path(args.output) if args.output else ROOT / "bench" / f"callgrind-{commit}.md"
    work = Path(tempfile.mkdtemp(prefix="tessera-callgrind-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    env.update({"TESSERA_DATABASE": args.postgres or str(work / "bench.sqlite"), "TESSERA_BCRYPT_COST": "4", "TESSERA_LOG_LEVEL": "warning",
                "TESSERA_TOKEN_RATE_LIMIT": "1000000000", "TESSERA_LOGIN_RATE_LIMIT": "1000000000", "TESSERA_LOCKOUT_THRESHOLD": "64",
                "TESSERA_KEY_ENCRYPTION_KEYS": base64.b64encode(secrets.token_bytes(32)).decode(),
                # Under valgrind a database round trip is ~50 times slower too.
                "TESSERA_DATABASE_TIMEOUT": "60"})

    def cli(*argv: str, stdin: str | None = None) -> str:
        return subprocess.run([str(binary), *argv], env=env, input=stdin, capture_output=True, text=True, check=True, timeout=120).stdout

    cli("migrate")
    user, password = "bench-" + secrets.token_hex(4), secrets.token_urlsafe(16)
    cli("user", "add", user, "--password-stdin", "--scope", "read", "--scope", "write", stdin=password)
    client = json.loads(cli("client", "add", "bench", "--grant", "client_credentials", "--grant", "password", "--grant", "refresh_token",
                            "--scope", "read", "--scope", "write", "--json"))
    basic = "Basic " + base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()

    # Valgrind 3.19 cannot read the DWARF 5 debug information swiftc emits ("unhandled dwarf2 abbrev form"), so the
    # server runs from a copy without it; the symbol table (all callgrind needs for function names) stays.
    stripped = work / "tessera"
    subprocess.run(["objcopy", "--strip-debug", str(binary), str(stripped)], check=True)
    for bundle in binary.parent.glob("*.resources"):
        (work / bundle.name).symlink_to(bundle)
    # Valgrind 3.19 also crashes ("the 'impossible' happened", SIGSEGV) when the async main thread parks in
    # libdispatch's dispatch_main (pthread_exit + sigsuspend) while other threads start. A preloaded dispatch_main that
    # drains the main queue every 50 ms instead avoids that path; it costs a few hundred instructions per 50 ms ("other").
    shim = work / "dispatch_main_shim.c"
    shim.write_text("#include <unistd.h>\nvoid _dispatch_main_queue_callback_4CF(void *);\n"
                    "void dispatch_main(void) { for (;;) { _dispatch_main_queue_callback_4CF(0); usleep(50000); } }\n")
    dispatch_dir = next(Path(p).parent for p in ["/opt/swift/usr/lib/swift/linux/libdispatch.so"] if Path(p).exists()) \
        if Path("/opt/swift/usr/lib/swift/linux/libdispatch.so").exists() else Path(shutil.which("swift")).resolve().parents[1] / "lib/swift/linux"
    subprocess.run(["clang", "-shared", "-fPIC", "-O2", "-o", str(work / "dispatch_main_shim.so"), str(shim), f"-L{dispatch_dir}", "-ldispatch",
                    f"-Wl,-rpath,{dispatch_dir}"], check=True)
    server_env = {**env, "LD_PRELOAD": str(work / "dispatch_main_shim.so")}
    results: dict[str, dict] = {}

    def measure(label: str, program: Path, server_args: list[str], environment: dict[str, str], port: int, ready: str,
                make_scenarios, names: list[str]) -> None:
        """Runs `program` under callgrind and measures each named scenario: warm-up, zero, N requests, dump."""
        log = open(work / f"{label}.log", "ab")
        out = work / f"{label}.callgrind.out"
        argv = ["valgrind", "--tool=callgrind", f"--separate-callers={args.depth}", "--dump-instr=no", "--compress-strings=no",
                "--compress-pos=no", "--demangle=no", f"--callgrind-out-file={out}", str(program), *server_args]
        print("$ " + " ".join(argv), flush=True)
        server = subprocess.Popen(argv, env=environment, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 300
            while True:
                try:
                    wait_ok(f"http://127.0.0.1:{port}{ready}", timeout=5)
                    break
                except RuntimeError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"server under valgrind did not start; see {work / (label + '.log')}") from None
            conn = Client(port, timeout=120)

            def control(*flags: str) -> None:
                subprocess.run(["callgrind_control", *flags, str(server.pid)], check=True, capture_output=True, timeout=300)

            scenarios, check = make_scenarios(conn)
            for name in names:
                send = scenarios[name]
                print(f"{name}: warm-up {args.warmup} …", flush=True)
                for _ in range(args.warmup):
                    send()
                check(name)
                time.sleep(1)  # let the audit flusher catch up with the warm-up
                control("-z")
                t0 = time.monotonic()
                for _ in range(args.requests):
                    send()
                time.sleep(1.5)  # background work caused by the measured requests (audit flush) lands in this window
                before = set(work.glob(f"{label}.callgrind.out*"))
                control("-d", name)
                elapsed = time.monotonic() - t0
                dump = max(set(work.glob(f"{label}.callgrind.out*")) - before, key=lambda p: p.stat().st_mtime)
                self_cost, total = parse_callgrind(dump)
                buckets, top, owners = attribute(self_cost)
                results[name] = {"total": total, "buckets": buckets, "top": top, "owners": owners, "seconds": elapsed, "dump": str(dump)}
                print(f"  {total / args.requests:,.0f} Ir/request ({elapsed:.0f} s under valgrind)", flush=True)
                # Cross-check listing with callgrind_annotate (inclusive), kept next to the dump.
                with open(f"{dump}.annotate.txt", "w") as listing:
                    subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=99", str(dump)], stdout=listing,
                                   stderr=subprocess.DEVNULL, timeout=600)
        finally:
            if server.poll() is None:
                server.terminate()
                try:
                    server.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()
            log.close()

    def tessera_scenarios(conn: Client):
        def password_grant() -> dict:
            return conn.post("/token", {"grant_type": "password", "username": user, "password": password, "scope": "read write"}, basic)

        access = password_grant()["access_token"]
        refresh = {"token": password_grant()["refresh_token"]}

        def refresh_once() -> None:
            refresh["token"] = conn.post("/token", {"grant_type": "refresh_token", "refresh_token": refresh["token"]}, basic)["refresh_token"]

        def check(name: str) -> None:
            if name == "introspect":
                assert conn.post("/introspect", {"token": access}, basic).get("active") is True, "introspection says inactive"

        return {
            "client_credentials": lambda: conn.post("/token", {"grant_type": "client_credentials", "scope": "read"}, basic),
            "introspect": lambda: conn.post("/introspect", {"token": access}, basic),
            "refresh": refresh_once,
        }, check

    port = free_port()
    measure("tessera", stripped, ["serve", "--port", str(port)], server_env, port, "/healthz", tessera_scenarios, args.scenarios.split(","))
    if args.baseline:
        # The same method on the bare baselines of bench/run.sh: what HTTP alone, and HTTP plus one ES256 signature, cost.
        baseline = work / "tessera-bench-baseline"
        subprocess.run(["objcopy", "--strip-debug", str(binary.parent / "tessera-bench-baseline"), str(baseline)], check=True)
        baseline_port = free_port()
        measure("baseline", baseline, [], {**server_env, "BASELINE_PORT": str(baseline_port)}, baseline_port, "/hello",
                lambda conn: ({"bare /hello": lambda: conn.get("/hello"), "bare /sign": lambda: conn.get("/sign"),
                               "bare POST /form": lambda: conn.post("/form", {"token": "x" * 600}, "Basic eDp5")}, lambda _: None),
                ["bare /hello", "bare /sign", "bare POST /form"])

    write_report(output, results, args, commit)
    if args.keep:
        print(f"dumps and logs kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


def write_report(output: Path, results: dict[str, dict], args, commit: str) -> None:
    n = args.requests
    names = list(results)
    header = "| component | " + " | ".join(f"{s} Ir/req | %" for s in names) + " |"
    rule = "| --- | " + " | ".join("---: | ---:" for _ in names) + " |"
    rows = []
    for component in ORDER:
        if not any(results[s]["buckets"].get(component) for s in names):
            continue
        cells = []
        for s in names:
            cost = results[s]["buckets"].get(component, 0)
            cells.append(f"{cost / n:,.0f} | {100 * cost / max(results[s]['total'], 1):.1f}")
        rows.append(f"| {component} | " + " | ".join(cells) + " |")
    rows.append("| **total** | " + " | ".join(f"**{results[s]['total'] / n:,.0f}** | 100" for s in names) + " |")
    tops = []
    for s in names:
        tops.append(f"\n### {s}: where each component's instructions enter (top classifying frames, inclusive of the unclassified "
                    f"code they call)\n\n| Ir/req | component | frame (simplified) |\n| ---: | --- | --- |")
        for cost, fn, cat in results[s]["owners"]:
            fn = fn.replace("|", "\\|")
            tops.append(f"| {cost / n:,.0f} | {cat} | `{fn[:140]}` |")
        tops.append(f"\n### {s}: top functions by self cost\n\n| Ir/req | component | function (simplified) |\n| ---: | --- | --- |")
        for cost, fn, cat in results[s]["top"]:
            fn = fn.replace("|", "\\|")
            tops.append(f"| {cost / n:,.0f} | {cat} | `{fn[:140]}` |")
    valgrind = subprocess.run(["valgrind", "--version"], capture_output=True, text=True).stdout.strip()
    baseline_note = ("; with `--baseline`, `bare /hello` and `bare /sign` are the bench baselines (`tessera-bench-baseline`: a bare "
                     "Hummingbird route, one that signs an ES256 JWT with jwt-kit, and `POST /form` that reads a 600-byte form body and "
                     "answers a fixed JSON object) measured the same way") if "bare /hello" in results else ""
    binary = (Path(args.bin) if args.bin else ROOT / ".build" / "release") / "tessera"
    built = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(binary.stat().st_mtime))
    text = f"""# Tessera: instructions per request by component (callgrind)

Produced by `bench/callgrind.sh --requests {n}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {commit},
release build of `tessera` (binary built {built}), {"PostgreSQL (the server process's own instructions; the database's are not counted)" if args.postgres else "SQLite (WAL) in a temporary directory"}, {valgrind}, `--separate-callers={args.depth}`.
Each scenario: {args.warmup} warm-up requests, counters zeroed, then N = {n} sequential keep-alive requests (all 200),
dump; figures are instructions (Ir) of every server thread in that window ÷ N. Kernel work (syscalls, fsync) is not
counted. How a cost is attributed to a component: see the top of `bench/callgrind.py`.
Scenarios: `client_credentials` (POST /token, Basic), `introspect` (POST /introspect of an ES256 access JWT, Basic),
`refresh` (POST /token grant_type=refresh_token, each request rotating the token the previous one returned){baseline_note}.

{header}
{rule}
{chr(10).join(rows)}
{chr(10).join(tops)}
"""
    output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
