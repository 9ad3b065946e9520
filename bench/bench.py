#!/usr/bin/env python3
"""End-to-end benchmark of `cargo dist` next to its floors, side by side in one run.

Prepares throwaway workspaces (1 app; 200 apps), runs each case several times, and prints
medians, ratios and peak memory (max RSS of the measured process tree). Usage:

    python3 bench/bench.py [--runs N] [--upstream PATH-TO-UPSTREAM-cargo-dist]

`--upstream` adds cargo-dist 0.34.0 (`cargo install cargo-dist --version 0.34.0 --locked`) to
the plan and warm-build rows when given. Not a test: nothing here asserts.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sh(cmd, cwd, env=None, check=True):
    """Runs cmd; returns (seconds, peak RSS in MiB of the child tree)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, rusage = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode(errors="replace")
    if check and p.returncode != 0:
        sys.exit(f"benchmark command failed: {' '.join(cmd)}\n{err}")
    return dt, rusage.ru_maxrss / 1024.0


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def make_workspace(dir, apps):
    members = [f"app{i:03}" for i in range(apps)]
    write(
        os.path.join(dir, "Cargo.toml"),
        "[workspace]\nmembers = [%s]\nresolver = \"2\"\n\n[workspace.metadata.dist]\n"
        "targets = [\"x86_64-unknown-linux-gnu\", \"aarch64-apple-darwin\", \"x86_64-pc-windows-msvc\"]\n"
        "installers = [\"shell\"]\n\n[profile.dist]\ninherits = \"release\"\n"
        % ", ".join(f'"{m}"' for m in members),
    )
    for m in members:
        write(
            os.path.join(dir, m, "Cargo.toml"),
            f'[package]\nname = "{m}"\nversion = "0.1.0"\nedition = "2021"\n'
            'repository = "https://github.com/example/bench"\n',
        )
        write(os.path.join(dir, m, "src/main.rs"), f'fn main() {{ println!("{m}"); }}\n')
        write(os.path.join(dir, m, "README.md"), f"# {m}\n")
    subprocess.run(["cargo", "generate-lockfile", "--offline"], cwd=dir, check=True,
                   stderr=subprocess.DEVNULL)


def median_case(runs, fn):
    times, mems = [], []
    for _ in range(runs):
        t, m = fn()
        times.append(t)
        mems.append(m)
    return statistics.median(times), max(mems)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--upstream", help="path to upstream cargo-dist 0.34.0's binary")
    args = ap.parse_args()

    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "cargo-dist"], cwd=ROOT,
                   check=True)
    ours = os.path.join(ROOT, "target", "release", "cargo-dist")
    tmp = tempfile.mkdtemp(prefix="dist-bench-")
    env = dict(os.environ, CARGO_DIST_STORE=os.path.join(tmp, "store"))
    rows = []

    def row(case, tool, t, mem, floor=None):
        ratio = f"{t / floor:.2f}x" if floor else ""
        rows.append((case, tool, f"{t * 1000:.0f} ms", ratio, f"{mem:.0f} MiB"))

    for apps in (1, 200):
        ws = os.path.join(tmp, f"ws{apps}")
        make_workspace(ws, apps)
        meta = ["cargo", "metadata", "--no-deps", "--format-version", "1", "--offline"]
        t_meta, m_meta = median_case(args.runs, lambda: sh(meta, ws, env))
        row(f"plan, {apps} app(s)", "cargo metadata (floor)", t_meta, m_meta)
        for label, extra in (("text", []), ("json", ["-o", "json"])):
            t, m = median_case(args.runs, lambda: sh([ours, "dist", "plan", *extra], ws, env))
            row(f"plan {label}, {apps} app(s)", "cargo-dist (ours)", t, m, t_meta)
            if args.upstream:
                t, m = median_case(args.runs,
                                   lambda: sh([args.upstream, "dist", "plan", *extra], ws, env,
                                              check=False))
                row(f"plan {label}, {apps} app(s)", "cargo-dist 0.34.0", t, m, t_meta)

    # Builds on the 1-app workspace, host target only.
    ws = os.path.join(tmp, "ws1")
    host = [l.split(": ")[1] for l in subprocess.run(["rustc", "-vV"], capture_output=True,
            text=True).stdout.splitlines() if l.startswith("host: ")][0]
    plain = ["cargo", "build", "--profile", "dist", "--locked", "--offline", "--target", host]

    def clean_plain():
        shutil.rmtree(os.path.join(ws, "target"), ignore_errors=True)
        return sh(plain, ws, env)

    def clean_ours():
        shutil.rmtree(os.path.join(ws, "target"), ignore_errors=True)
        shutil.rmtree(env["CARGO_DIST_STORE"], ignore_errors=True)
        return sh([ours, "dist", "build"], ws, env)

    cold_runs = max(3, args.runs // 2)
    t_plain, m_plain = median_case(cold_runs, clean_plain)
    row("cold build", "cargo build --profile dist (floor)", t_plain, m_plain)
    t, m = median_case(cold_runs, clean_ours)
    row("cold build", "cargo-dist (ours)", t, m, t_plain)

    t, m = median_case(args.runs * 2, lambda: sh([ours, "dist", "build"], ws, env))
    row("warm build, nothing changed", "cargo-dist (ours)", t, m)

    readme = os.path.join(ws, "app000", "README.md")
    n = [0]

    def readme_edit():
        n[0] += 1
        with open(readme, "a") as f:
            f.write(f"edit {n[0]}\n")
        return sh([ours, "dist", "build"], ws, env)

    t, m = median_case(args.runs, readme_edit)
    row("build after README edit", "cargo-dist (ours)", t, m)

    main_rs = os.path.join(ws, "app000", "src", "main.rs")

    def src_edit(cmd):
        def go():
            n[0] += 1
            with open(main_rs, "a") as f:
                f.write(f"// edit {n[0]}\n")
            return sh(cmd, ws, env)
        return go

    t_inc, m_inc = median_case(args.runs, src_edit(plain))
    row("build after one-line edit", "cargo build --profile dist (floor)", t_inc, m_inc)
    t, m = median_case(args.runs, src_edit([ours, "dist", "build"]))
    row("build after one-line edit", "cargo-dist (ours)", t, m, t_inc)

    t, m = median_case(args.runs, lambda: sh([ours, "dist", "build", "--artifacts=global"], ws, env))
    row("build --artifacts=global (warm)", "cargo-dist (ours)", t, m)

    widths = [max(len(r[i]) for r in rows + [("case", "tool", "median", "ratio", "peak RSS")])
              for i in range(5)]
    head = ("case", "tool", "median", "ratio", "peak RSS")
    print(" | ".join(h.ljust(w) for h, w in zip(head, widths)))
    print("-|-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths)))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
