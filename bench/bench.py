#!/usr/bin/env python3
"""End-to-end benchmark of `cargo dist` next to its floors (and, when given, upstream cargo-dist
0.34.0), side by side in one run.

Prepares throwaway workspaces (1 app; 200 apps; an app using clap and serde_json from the local
registry cache; 1 app with a 24 MB binary; 4 apps sharing a library that uses serde_json and
regex; a CI-like pipeline handing a store on by bundle or by a remote store), runs each case
several times, alternating the tools, and prints medians, ratios and peak memory (max RSS of the
measured process tree). `--cases pipeline` times the generated release workflow under act
instead (tests/cli/act/: each job of two runs of the example's pipeline, with and without the
remote store). Usage:

    python3 bench/bench.py [--runs N] [--upstream PATH]

PATH is upstream's binary (`cargo install cargo-dist --version 0.34.0 --locked --root DIR`,
then DIR/bin/dist). Not a test: nothing here asserts.
"""
import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS = '["x86_64-unknown-linux-gnu", "aarch64-apple-darwin", "x86_64-pc-windows-msvc"]'


def run(cmd, cwd, env, check=True):
    """Runs cmd; returns (seconds, peak RSS in MiB). The RSS comes from GNU time, which forks
    from a small process: a child forked from this (large) Python process would report Python's
    own resident size as its peak."""
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], cwd=cwd, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    err = p.stderr.decode(errors="replace").strip().splitlines()
    if check and p.returncode != 0:
        sys.exit(f"benchmark command failed: {' '.join(cmd)}\n" + "\n".join(err))
    rss_kb = int(err[-1]) if err and err[-1].isdigit() else 0
    return dt, rss_kb / 1024.0


def cold_run(cmd, ws, target, store, env):
    """A step that runs `cmd` in `ws` from nothing: no target dir, no store."""
    def go():
        shutil.rmtree(target, ignore_errors=True)
        shutil.rmtree(store, ignore_errors=True)
        shutil.rmtree(store + "-before", ignore_errors=True)
        return run(cmd, ws, env)
    return go


def lock_and_commit(dir):
    """Cargo.lock from the local registry cache, then everything committed (the source tarball
    is made from the committed tree)."""
    subprocess.run(["cargo", "generate-lockfile", "--offline"], cwd=dir, check=True,
                   stderr=subprocess.DEVNULL)
    subprocess.run(["git", "init", "-q"], cwd=dir, check=True)
    subprocess.run(["git", "add", "-A"], cwd=dir, check=True)
    subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "x"],
                   cwd=dir, check=True)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def app_source(name, functions):
    """A main.rs with some real code, so rustc has work to do."""
    body = [f'fn f{i}(x: u64) -> u64 {{ x.wrapping_mul({i + 3}).rotate_left({i % 31}) ^ {i} }}'
            for i in range(functions)]
    calls = " ^ ".join(f"f{i}(n)" for i in range(functions)) or "n"
    return "\n".join(body) + f'''
fn main() {{
    let n = std::env::args().count() as u64;
    println!("{name} {{}}", {calls});
}}
'''


REAL_APP = r"""use clap::Parser;

/// Counts words in its arguments and prints them as JSON.
#[derive(Parser)]
struct Args {
    /// Words to count
    words: Vec<String>,
    /// Pretty-print
    #[arg(long)]
    pretty: bool,
}

fn main() {
    let args = Args::parse();
    let mut counts = std::collections::BTreeMap::new();
    for w in &args.words {
        *counts.entry(w.clone()).or_insert(0u64) += 1;
    }
    let v = serde_json::json!({ "counts": counts, "total": args.words.len() });
    if args.pretty {
        println!("{}", serde_json::to_string_pretty(&v).unwrap());
    } else {
        println!("{v}");
    }
}
"""


def make_workspace(dir, apps, functions=20, blob=0, real=False):
    members = [f"app{i:03}" for i in range(apps)]
    write(os.path.join(dir, "Cargo.toml"),
          "[workspace]\nmembers = [%s]\nresolver = \"2\"\n\n[workspace.metadata.dist]\n"
          "cargo-dist-version = \"0.34.0\"\ntargets = %s\n\n"
          "[profile.dist]\ninherits = \"release\"\n"
          % (", ".join(f'"{m}"' for m in members), TARGETS))
    for m in members:
        deps = ('[dependencies]\nclap = { version = "4", features = ["derive"] }\n'
                'serde_json = "1"\n') if real else ""
        write(os.path.join(dir, m, "Cargo.toml"),
              f'[package]\nname = "{m}"\nversion = "0.1.0"\nedition = "2021"\n'
              f'repository = "https://github.com/example/bench"\n\n{deps}')
        src = REAL_APP if real else app_source(m, functions)
        if blob:
            # A large, compressible payload, like the data and code of a big binary.
            rng = random.Random(7)
            words = [bytes(rng.getrandbits(8) for _ in range(16)) for _ in range(4096)]
            with open(os.path.join(dir, m, "blob.bin"), "wb") as f:
                for _ in range(blob // (1 << 20)):
                    f.write(b"".join(rng.choice(words) for _ in range((1 << 20) // 16)))
            src += '\nstatic BLOB: &[u8] = include_bytes!("../blob.bin");\n' \
                   '#[used] static KEEP: &&[u8] = &BLOB;\n'
        write(os.path.join(dir, m, "src/main.rs"), src)
        write(os.path.join(dir, m, "README.md"), f"# {m}\n")
    lock_and_commit(dir)


SHARED_LIB = r"""use regex::Regex;

/// Words of `text` that look like identifiers, counted, as JSON.
pub fn report(text: &str) -> String {
    let re = Regex::new(r"[A-Za-z_][A-Za-z0-9_]*").unwrap();
    let mut counts = std::collections::BTreeMap::new();
    for m in re.find_iter(text) {
        *counts.entry(m.as_str().to_string()).or_insert(0u64) += 1;
    }
    serde_json::to_string(&counts).unwrap()
}
"""


def make_shared_workspace(dir, apps):
    """`apps` Apps sharing one library that uses serde_json and regex; lto = "thin"."""
    members = [f"app{i}" for i in range(apps)] + ["common"]
    write(os.path.join(dir, "Cargo.toml"),
          "[workspace]\nmembers = [%s]\nresolver = \"2\"\n\n[workspace.metadata.dist]\n"
          "cargo-dist-version = \"0.34.0\"\ntargets = %s\n\n"
          "[profile.dist]\ninherits = \"release\"\nlto = \"thin\"\n"
          % (", ".join(f'"{m}"' for m in members), TARGETS))
    write(os.path.join(dir, "common", "Cargo.toml"),
          '[package]\nname = "common"\nversion = "0.1.0"\nedition = "2021"\npublish = false\n\n'
          '[dependencies]\nregex = "1"\nserde_json = "1"\n')
    write(os.path.join(dir, "common", "src", "lib.rs"), SHARED_LIB)
    for m in members[:-1]:
        write(os.path.join(dir, m, "Cargo.toml"),
              f'[package]\nname = "{m}"\nversion = "0.1.0"\nedition = "2021"\n'
              f'repository = "https://github.com/example/bench"\n\n'
              f'[dependencies]\ncommon = {{ path = "../common" }}\n')
        write(os.path.join(dir, m, "src", "main.rs"),
              f'fn main() {{\n    let args: Vec<String> = std::env::args().collect();\n'
              f'    println!("{m} {{}}", common::report(&args.join(" ")));\n}}\n')
    lock_and_commit(dir)


def du_mib(path):
    out = subprocess.run(["du", "-sk", path], capture_output=True, text=True).stdout.split()
    return int(out[0]) / 1024.0 if out else 0.0


def warm_case(tools, tmp, env, host, runs, table):
    """A warm build with every recipe cached next to the plan it starts with (its floor): the
    bundled example and the 200-App workspace, `build --artifacts=local --target HOST -o json`
    against `plan -o json`, medians of `runs`, alternating."""
    example = os.path.join(tmp, "warm-example")
    shutil.copytree(os.path.join(ROOT, "examples", "hello-world"), example,
                    ignore=shutil.ignore_patterns("target"))
    lock_and_commit(example)
    apps = os.path.join(tmp, "warm-200")
    make_workspace(apps, 200)
    build = ["build", "--artifacts=local", "--target", host, "-o", "json"]
    for label, ws in (("the example", example), ("200 apps", apps)):
        for exe in tools.values():
            run([*exe, *build], ws, env)  # cold, then every recipe is cached
        # Copies in target/distrib are trusted by their stamps once 2 s old (git's racily-clean
        # rule); the first build after that stamps them. Measured from then on: steady state.
        time.sleep(2.1)
        for exe in tools.values():
            run([*exe, *build], ws, env)
        steps = {}
        for name, exe in tools.items():
            steps[f"{name}: plan -o json (floor)"] = lambda exe=exe: run([*exe, "plan", "-o",
                                                                          "json"], ws, env)
            steps[f"{name}: warm build"] = lambda exe=exe: run([*exe, *build], ws, env)
        res = measure(runs, steps)
        for name in tools:
            floor = res[f"{name}: plan -o json (floor)"][0]
            for step in ("plan -o json (floor)", "warm build"):
                t, m = res[f"{name}: {step}"]
                table.add(f"warm build --artifacts=local, {label}", f"{name}: {step}", t, m,
                          None if "floor" in step else floor)


def shared_case(args, tools, tmp, env, store, host, table):
    """4 Apps sharing a library: cold build and a one-line edit in the library, next to
    `cargo build --profile dist --workspace`; then each tool's target dir size."""
    ws = os.path.join(tmp, "shared-4")
    make_shared_workspace(ws, 4)
    target = os.path.join(ws, "target")
    plain = ["cargo", "build", "--profile", "dist", "--workspace", "--locked", "--offline",
             "--target", host]

    def cold(cmd):
        return cold_run(cmd, ws, target, store, env)

    steps = {"cargo build --profile dist --workspace (floor)": cold(plain)}
    for name, exe in tools.items():
        steps[name] = cold([*exe, "build"])
    sizes = {}
    res = {}
    # Measured run by run so each tool's target dir can be weighed after its own cold build.
    times = {n: [] for n in steps}
    mems = {n: 0.0 for n in steps}
    for _ in range(max(2, args.runs // 2)):
        for name, step in steps.items():
            t, m = step()
            times[name].append(t)
            mems[name] = max(mems[name], m)
            sizes[name] = du_mib(target)
    res = {n: (statistics.median(times[n]), mems[n]) for n in steps}
    floor = res["cargo build --profile dist --workspace (floor)"][0]
    for name, (t, m) in res.items():
        table.add("cold build, 4 apps sharing a library (serde_json, regex)", name, t, m,
                  None if "floor" in name else floor)
    for name, mib in sizes.items():
        table.rows.append(("target dir after cold build, 4 apps", name, f"{mib:.0f} MiB",
                           f"{mib / sizes['cargo build --profile dist --workspace (floor)']:.2f}x",
                           ""))

    lib = os.path.join(ws, "common", "src", "lib.rs")
    n = [0]

    def edit(cmd):
        def go():
            n[0] += 1
            with open(lib, "a") as f:
                f.write(f"// edit {n[0]}\n")
            return run(cmd, ws, env)
        return go

    for cmd in [plain] + [[*exe, "build"] for exe in tools.values()]:
        run(cmd, ws, env)  # warm every tool's state after the others' cold builds
    steps = {"cargo build --profile dist --workspace (floor)": edit(plain)}
    for name, exe in tools.items():
        steps[name] = edit([*exe, "build"])
    res = measure(args.runs, steps)
    floor = res["cargo build --profile dist --workspace (floor)"][0]
    for name, (t, m) in res.items():
        table.add("build after one-line edit in the shared library, 4 apps", name, t, m,
                  None if "floor" in name else floor)


class Table:
    def __init__(self):
        self.rows = []

    def add(self, case, tool, secs, mem, floor=None):
        ratio = f"{secs / floor:.2f}x" if floor else ""
        self.rows.append((case, tool, f"{secs * 1000:.0f} ms", ratio, f"{mem:.0f} MiB"))

    def add_all(self, case, results, floor_name):
        """Every tool's (median, peak) of `results`, the others as ratios to `floor_name`'s."""
        floor = results[floor_name][0]
        for name, (t, m) in results.items():
            self.add(case, name, t, m, None if name == floor_name else floor)

    def add_note(self, text):
        self.notes = getattr(self, "notes", []) + [text]

    def print(self):
        if not self.rows:
            return
        head = ("case", "tool", "median", "vs floor", "peak RSS")
        widths = [max(len(r[i]) for r in self.rows + [head]) for i in range(5)]
        print("| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |")
        print("|-" + "-|-".join("-" * w for w in widths) + "-|")
        for r in self.rows:
            print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
        for n in getattr(self, "notes", []):
            print(n)


NGINX_CONF = """load_module /usr/lib/nginx/modules/ngx_http_dav_ext_module.so;
daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {d}/tmp;
  client_max_body_size 0;
  server {{
    listen 127.0.0.1:{port};
    root {d}/root;
    location / {{
      dav_methods PUT DELETE MKCOL COPY MOVE;
      dav_ext_methods PROPFIND OPTIONS;
      create_full_put_path on;
    }}
  }}
}}
"""


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port):
    import socket
    for _ in range(500):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return
        except OSError:
            time.sleep(0.02)
    sys.exit(f"nothing listens on 127.0.0.1:{port}")


def remote_case(ours, tmp, env, runs, table):
    """The CI-like pipeline: runner A builds from nothing and hands its store on (a bundle, or
    uploads to a remote store); runner B, a fresh clone with an empty store, builds the same
    artifacts from what A handed on. nginx (WebDAV) and redis-server on 127.0.0.1."""
    d = os.path.join(tmp, "nginx")
    os.makedirs(os.path.join(d, "root"))
    os.makedirs(os.path.join(d, "tmp"))
    port = free_port()
    write(os.path.join(d, "nginx.conf"), NGINX_CONF.format(d=d, port=port))
    nginx = subprocess.Popen(["nginx", "-e", os.path.join(d, "error.log"), "-p", d, "-c",
                              os.path.join(d, "nginx.conf")], stderr=subprocess.DEVNULL)
    rport = free_port()
    redis = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(rport),
                              "--save", "", "--appendonly", "no", "--dir", tmp],
                             stdout=subprocess.DEVNULL)
    try:
        wait_port(port)
        wait_port(rport)
        keys = subprocess.run([ours, "dist", "store", "keygen", "-o", "json"], check=True,
                              capture_output=True, text=True).stdout
        import json
        keys = json.loads(keys)
        remotes = {"WebDAV (nginx)": f"webdav+http://127.0.0.1:{port}/cache",
                   "Redis": f"redis://127.0.0.1:{rport}/0"}
        renv = dict(env, CARGO_DIST_REMOTE_SIGNING_KEY=keys["signing_key"])

        def clear(name):
            if name.startswith("WebDAV"):
                shutil.rmtree(os.path.join(d, "root", "cache"), ignore_errors=True)
            else:
                subprocess.run(["redis-cli", "-p", str(rport), "flushall"], check=True,
                               stdout=subprocess.DEVNULL)

        ws = os.path.join(tmp, "pipeline-a")
        make_workspace(ws, 1, 50, 24 << 20)
        target = os.path.join(ws, "target")
        a_store = os.path.join(tmp, "store-a")
        bundle = os.path.join(tmp, "a.bundle")

        def a_bundle():
            t1, m1 = cold_run([ours, "dist", "build"], ws, target, a_store,
                              dict(env, CARGO_DIST_STORE=a_store))()
            t2, m2 = run([ours, "dist", "store", "export", bundle], ws,
                         dict(env, CARGO_DIST_STORE=a_store))
            return t1 + t2, max(m1, m2)

        def a_remote(name):
            def go():
                clear(name)
                return cold_run([ours, "dist", "build", "--remote", remotes[name]], ws, target,
                                a_store, dict(renv, CARGO_DIST_STORE=a_store))()
            return go

        steps = {"runner A: cold build + store export": a_bundle}
        for name in remotes:
            steps[f"runner A: cold build + upload, {name}"] = a_remote(name)
        table.add_all("CI pipeline, 24 MB binary", measure(runs, steps),
                      "runner A: cold build + store export")
        # Both remotes hold A's uploads now (each step cleared and refilled its own).

        b = os.path.join(tmp, "pipeline-b")
        shutil.copytree(ws, b, ignore=shutil.ignore_patterns("target"))
        b_store = os.path.join(tmp, "store-b")
        b_env = dict(env, CARGO_DIST_STORE=b_store,
                     CARGO_DIST_REMOTE_TRUSTED_KEYS=keys["public_key"])

        def b_bundle():
            shutil.rmtree(b_store, ignore_errors=True)
            shutil.rmtree(os.path.join(b, "target"), ignore_errors=True)
            t1, m1 = run([ours, "dist", "store", "import", bundle], b, b_env)
            t2, m2 = run([ours, "dist", "build"], b, b_env)
            return t1 + t2, max(m1, m2)

        def b_remote(name):
            def go():
                shutil.rmtree(b_store, ignore_errors=True)
                shutil.rmtree(os.path.join(b, "target"), ignore_errors=True)
                return run([ours, "dist", "build", "--remote", remotes[name]], b, b_env)
            return go

        steps = {"runner B: store import + build": b_bundle}
        for name in remotes:
            steps[f"runner B: build, all remote hits, {name}"] = b_remote(name)
        table.add_all("CI pipeline, 24 MB binary", measure(runs, steps),
                      "runner B: store import + build")
        b_bundle()
        via_bundle = du_mib(b_store)
        b_remote("WebDAV (nginx)")()
        via_remote = du_mib(b_store)
        table.add_note(f"CI pipeline: the bundle is {os.path.getsize(bundle) / (1 << 20):.1f} MiB; "
                       f"runner B's store holds {via_bundle:.1f} MiB after importing it, "
                       f"{via_remote:.1f} MiB after the remote-hit build (only what it ships)")
    finally:
        nginx.kill()
        redis.kill()


def pipeline_case(tmp, runs):
    """The generated release workflow under act (tests/cli/act/): the time of each job in the
    first and the second run of the example's pipeline and of its remote-store variant, as act
    times their steps, medians over `runs` repetitions of both cases."""
    import json
    out = os.path.join(tmp, "act-timings.jsonl")
    for _ in range(runs):
        subprocess.run(["cargo", "test", "--quiet", "--locked", "--test", "cli", "--",
                        "act::the_example_releases_twice",
                        "act::the_remote_store_serves_the_second_run", "--test-threads", "1"],
                       cwd=ROOT, check=True, env=dict(os.environ, CARGO_DIST_ACT_TIMINGS=out),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    records = [json.loads(l) for l in open(out)]
    cols = sorted({(r["case"], r["run"]) for r in records})
    def med(pick):
        return {c: statistics.median(pick(r) for r in records if (r["case"], r["run"]) == c)
                for c in cols}
    jobs = sorted({j for r in records for j in r["jobs"]},
                  key=lambda j: ["plan", "build-local-artifacts", "build-global-artifacts",
                                 "host", "announce"].index(j) if j in
                  ["plan", "build-local-artifacts", "build-global-artifacts", "host",
                   "announce"] else 99)
    head = [f"{case}, run {n}" for case, n in cols]
    print(f"\nrelease pipeline under act (seconds, median of {runs}; job = sum of its steps)")
    print("| job | " + " | ".join(head) + " |")
    print("|---|" + "---|" * len(cols))
    for j in jobs:
        m = med(lambda r, j=j: r["jobs"].get(j, 0.0))
        print(f"| {j} | " + " | ".join(f"{m[c]:.2f}" for c in cols) + " |")
    m = med(lambda r: r["wall"])
    print("| act, whole run | " + " | ".join(f"{m[c]:.2f}" for c in cols) + " |")
    steps = sorted({s for r in records for s in r["steps"]})
    print("\nsteps over 0.1 s in a second run (seconds, median)")
    second = [c for c in cols if c[1] == 2]
    print("| step | " + " | ".join(f"{case}, run 2" for case, _ in second) + " |")
    print("|---|" + "---|" * len(second))
    for st in steps:
        m = med(lambda r, st=st: r["steps"].get(st, 0.0))
        if any(m[c] > 0.1 for c in second):
            print(f"| {st} | " + " | ".join(f"{m[c]:.2f}" for c in second) + " |")


def measure(runs, tools):
    """tools: {name: (prepare, cmd-fn)}; alternates tools run by run; returns name -> (median, peak)."""
    times = {name: [] for name in tools}
    mems = {name: 0.0 for name in tools}
    for _ in range(runs):
        for name, step in tools.items():
            t, m = step()
            times[name].append(t)
            mems[name] = max(mems[name], m)
    return {n: (statistics.median(times[n]), mems[n]) for n in tools}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--upstream", help="upstream cargo-dist 0.34.0's binary")
    ap.add_argument("--before", help="an earlier build of this tool, as a before/after column")
    ap.add_argument("--plan-only", action="store_true", help="only the plan cases")
    ap.add_argument("--shared-only", action="store_true",
                    help="only the 4-apps-sharing-a-library case")
    ap.add_argument("--cases", default="plan,1app,clap,24mb,shared,remote",
                    help="comma-separated subset of plan,1app,clap,24mb,shared,remote,warm,pipeline "
                         "(warm: a warm build of the example and of 200 Apps next to their "
                         "plans; pipeline: the release workflow under act; neither run by "
                         "default)")
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "cargo-dist"], cwd=ROOT,
                   check=True)
    ours = os.path.join(ROOT, "target", "release", "cargo-dist")
    tmp = tempfile.mkdtemp(prefix="dist-bench-")
    store = os.path.join(tmp, "store")
    env = dict(os.environ, CARGO_DIST_STORE=store, CARGO_TERM_QUIET="true")
    host = [l.split(": ")[1] for l in subprocess.run(["rustc", "-vV"], capture_output=True,
            text=True).stdout.splitlines() if l.startswith("host: ")][0]
    table = Table()
    # name -> argv prefix. Upstream 0.34's binary is `dist` (the `cargo-dist` crate).
    tools = {"cargo-dist (ours)": [ours, "dist"]}
    if args.before:
        # Its own store: an earlier build may not read a newer store's schema.
        tools["cargo-dist (ours, before)"] = [args.before, "dist", "--store", store + "-before"]
    if args.upstream:
        tools["cargo-dist 0.34.0"] = [args.upstream]

    cases = set(args.cases.split(","))
    if args.shared_only:
        cases = {"shared"}
    if args.plan_only:
        cases = {"plan"}

    # plan: text and JSON, 1 and 200 apps.
    for apps in ((1, 200) if "plan" in cases else ()):
        ws = os.path.join(tmp, f"ws{apps}")
        make_workspace(ws, apps)
        meta = ["cargo", "metadata", "--no-deps", "--format-version", "1", "--offline"]
        for fmt, extra in (("text", []), ("json", ["-o", "json"])):
            steps = {"cargo metadata (floor)": lambda: run(meta, ws, env)}
            for name, exe in tools.items():
                steps[name] = lambda exe=exe: run([*exe, "plan", *extra], ws, env)
            res = measure(args.runs, steps)
            floor = res["cargo metadata (floor)"][0]
            for name, (t, m) in res.items():
                table.add(f"plan {fmt}, {apps} app(s)", name, t, m,
                          None if name.endswith("(floor)") else floor)

    # Builds, host target, on a 1-app workspace and on one with a 24 MB binary.
    for case, label, functions, blob, real in (("1app", "1 app", 400, 0, False),
                                               ("clap", "app using clap + serde_json", 0, 0, True),
                                               ("24mb", "24 MB binary", 50, 24 << 20, False)):
        if case not in cases:
            continue
        ws = os.path.join(tmp, label.replace(" ", "-"))
        make_workspace(ws, 1, functions, blob, real)
        plain = ["cargo", "build", "--profile", "dist", "--locked", "--offline", "--target", host]
        target = os.path.join(ws, "target")

        def cold(cmd, ws=ws, target=target):
            return cold_run(cmd, ws, target, store, env)

        steps = {"cargo build --profile dist (floor)": cold(plain)}
        for name, exe in tools.items():
            steps[name] = cold([*exe, "build"])
        res = measure(max(2, args.runs // 2), steps)
        floor = res["cargo build --profile dist (floor)"][0]
        for name, (t, m) in res.items():
            table.add(f"cold build, {label}", name, t, m, None if "floor" in name else floor)

        # The compressor alone on the same binary: the floor of any archive step.
        binary = os.path.join(target, host, "dist", "app000")
        if os.path.exists(binary):
            res = measure(args.runs, {"xz -6 -T1 on the binary (floor)": lambda: run(
                ["sh", "-c", f"xz -6 -T1 -c '{binary}' > /dev/null"], ws, env)})
            for name, (t, m) in res.items():
                table.add(f"compress, {label}", name, t, m)

        for name, exe in tools.items():
            run([*exe, "build"], ws, env)  # warm up both
        steps = {name: (lambda exe=exe: run([*exe, "build"], ws, env))
                 for name, exe in tools.items()}
        for name, (t, m) in measure(args.runs, steps).items():
            table.add(f"warm build, nothing changed, {label}", name, t, m)

        readme = os.path.join(ws, "app000", "README.md")
        main_rs = os.path.join(ws, "app000", "src", "main.rs")
        n = [0]

        def edit(path, line, cmd):
            def go():
                n[0] += 1
                with open(path, "a") as f:
                    f.write(line.format(n[0]))
                return run(cmd, ws, env)
            return go

        steps = {name: edit(readme, "edit {}\n", [*exe, "build"])
                 for name, exe in tools.items()}
        for name, (t, m) in measure(args.runs, steps).items():
            table.add(f"build after README edit, {label}", name, t, m)

        steps = {"cargo build --profile dist (floor)": edit(main_rs, "// edit {}\n", plain)}
        for name, exe in tools.items():
            steps[name] = edit(main_rs, "// edit {}\n", [*exe, "build"])
        res = measure(args.runs, steps)
        floor = res["cargo build --profile dist (floor)"][0]
        for name, (t, m) in res.items():
            table.add(f"build after one-line edit, {label}", name, t, m,
                      None if "floor" in name else floor)

        steps = {name: (lambda exe=exe: run([*exe, "build", "--artifacts=global"], ws,
                                            env, check=False))
                 for name, exe in tools.items()}
        for name, (t, m) in measure(args.runs, steps).items():
            table.add(f"build --artifacts=global, {label}", name, t, m)

    if "shared" in cases:
        shared_case(args, tools, tmp, env, store, host, table)
    if "remote" in cases:
        remote_case(ours, tmp, env, max(3, args.runs // 2), table)
    if "warm" in cases:
        warm_case({n: e for n, e in tools.items() if "0.34" not in n}, tmp, env, host,
                  args.runs, table)
    table.print()
    if "pipeline" in cases:
        pipeline_case(tmp, args.runs)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
