//! `build`: real cargo builds of a small app through the store into target/distrib, checked with
//! the system's sha256sum and tar; caching, invalidation, `explain`, reproducibility across
//! machines-in-miniature, failures and archive formats.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support;
use crate::support::{
    app_main, copy_workspace, dist_app, dist_command, foreign_target, host_triple, read_tree,
    recipe_states, run_ok, sha256sum_check, store_rows, untar, Fixture,
};
use crate::support::{build_without_cargo, real_cargo};

const APP: &str = "greeter";
const HELLO: &str = "hello from greeter";

fn host_app() -> (Fixture, String) {
    support::host_app(APP, HELLO)
}

fn archive_name(host: &str) -> String {
    support::archive_name(APP, host)
}

fn distrib(fx: &Fixture) -> PathBuf {
    fx.root().join("target/distrib")
}

/// Runs the binary at `path` and returns its stdout.
fn run_binary(path: &Path) -> String {
    let out = run_ok(&mut Command::new(path));
    String::from_utf8(out.stdout).expect("binary prints utf-8")
}

/// Unpacks `archive` (tar.xz) into a fresh dir under the fixture, returns the unpack dir.
fn unpack(fx: &Fixture, archive: &Path, name: &str, flags: &[&str]) -> PathBuf {
    let dest = fx.dir.path().join(name);
    untar(archive, &dest, flags);
    dest
}

/// The build manifest's artifacts without the run-dependent `recipe.cached` flags.
fn without_cached(manifest: &[u8]) -> Value {
    let mut v: Value = serde_json::from_slice(manifest).expect("manifest is JSON");
    for a in v["artifacts"].as_object_mut().unwrap().values_mut() {
        if let Some(r) = a.get_mut("recipe").and_then(Value::as_object_mut) {
            r.remove("cached");
        }
    }
    v
}

/// The manifest `build -o json` printed is cargo-dist's schema, every artifact's path is a
/// file under target/distrib, and every archive has a sha256.
fn assert_schema_paths_and_sums(fx: &Fixture, json: &str) {
    let manifest: cargo_dist_schema::DistManifest =
        serde_json::from_str(json).expect("build -o json parses as cargo_dist_schema");
    assert!(!manifest.artifacts.is_empty());
    for (id, a) in &manifest.artifacts {
        let path = a
            .path
            .as_deref()
            .unwrap_or_else(|| panic!("{id} has no path"));
        assert!(
            path.starts_with("target/distrib/"),
            "{id}: path {path} is not under target/distrib"
        );
        assert!(fx.root().join(path).is_file(), "{id}: {path} is missing");
        if matches!(a.kind, cargo_dist_schema::ArtifactKind::ExecutableZip) {
            let sha = a
                .checksums
                .iter()
                .find(|(k, _)| k.as_str() == "sha256")
                .map(|(_, v)| v.as_str().to_string())
                .unwrap_or_else(|| panic!("archive {id} has no checksums.sha256"));
            assert_eq!(sha.len(), 64, "{id}: sha256 {sha}");
        }
    }
}

#[test]
fn host_build_writes_verified_archive_checksums_and_manifest() {
    let (fx, host) = host_app();
    let archive = archive_name(&host);
    let json = fx.ok(&["build", "-o", "json"]);
    assert_schema_paths_and_sums(&fx, &json);

    // Exactly the host archive, its checksum, the unified checksum and the manifest.
    let dir = distrib(&fx);
    let files: BTreeSet<String> = read_tree(&dir).into_keys().collect();
    let expected: BTreeSet<String> = [
        archive.clone(),
        format!("{archive}.sha256"),
        "sha256.sum".to_string(),
        "dist-manifest.json".to_string(),
    ]
    .into_iter()
    .collect();
    assert_eq!(files, expected);
    let on_disk: Value =
        serde_json::from_slice(&std::fs::read(dir.join("dist-manifest.json")).unwrap()).unwrap();
    assert_eq!(on_disk, serde_json::from_str::<Value>(&json).unwrap());

    // The real sha256sum agrees with both checksum files.
    let out = sha256sum_check(&dir, &format!("{archive}.sha256"));
    assert_eq!(out, format!("{archive}: OK\n"));
    let out = sha256sum_check(&dir, "sha256.sum");
    assert_eq!(out, format!("{archive}: OK\n"));
    let sha_in_manifest = on_disk["artifacts"][&archive]["checksums"]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let sum_file = std::fs::read_to_string(dir.join(format!("{archive}.sha256"))).unwrap();
    assert!(sum_file.starts_with(&sha_in_manifest), "{sum_file}");

    // The real tar: one root dir holding exactly the planned files, with their modes.
    let out = unpack(&fx, &dir.join(&archive), "unpacked", &["-xpJf"]);
    let root_name = format!("{APP}-{host}");
    let top: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(top, vec![root_name.clone()]);
    let root = out.join(&root_name);
    let members: BTreeMap<String, u32> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let mode = e.metadata().unwrap().permissions().mode() & 0o7777;
            (e.file_name().to_string_lossy().into_owned(), mode)
        })
        .collect();
    let want: BTreeMap<String, u32> = [
        (APP, 0o755),
        ("README.md", 0o644),
        ("LICENSE", 0o644),
        ("CHANGELOG.md", 0o644),
    ]
    .into_iter()
    .map(|(n, m)| (n.to_string(), m))
    .collect();
    assert_eq!(members, want, "members and modes of {archive}");
    let planned: BTreeSet<String> = on_disk["artifacts"][&archive]["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(planned, members.keys().cloned().collect());
    for doc in ["README.md", "LICENSE", "CHANGELOG.md"] {
        assert_eq!(
            std::fs::read(root.join(doc)).unwrap(),
            std::fs::read(fx.root().join(doc)).unwrap(),
            "{doc} in the archive"
        );
    }
    assert_eq!(run_binary(&root.join(APP)), format!("{HELLO}\n"));
}

#[test]
fn unchanged_second_build_is_cached_identical_and_runs_no_cargo() {
    let (fx, host) = host_app();
    let first_json = fx.json(&["build", "-o", "json"]);
    let first = read_tree(&distrib(&fx));
    for (name, (cached, _)) in recipe_states(&first_json) {
        assert!(!cached, "{name} was cached in a fresh store");
    }

    let second_json = build_without_cargo(fx.dir.path(), fx.root(), &fx.store());
    let states = recipe_states(&second_json);
    assert!(states.contains_key(&archive_name(&host)));
    for (name, (cached, _)) in &states {
        assert!(*cached, "{name} was not cached on the second build");
    }
    assert_eq!(
        states
            .iter()
            .map(|(n, (_, b))| (n.clone(), b.clone()))
            .collect::<Vec<_>>(),
        recipe_states(&first_json)
            .iter()
            .map(|(n, (_, b))| (n.clone(), b.clone()))
            .collect::<Vec<_>>(),
        "same blake3 for every artifact"
    );

    // Every artifact is byte-identical; the manifest differs at most in `cached`.
    let second = read_tree(&distrib(&fx));
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        second.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &first {
        if name != "dist-manifest.json" {
            assert!(bytes == &second[name], "{name} changed on a cached build");
        }
    }
    assert_eq!(
        without_cached(&first["dist-manifest.json"]),
        without_cached(&second["dist-manifest.json"])
    );
}

/// target/distrib is the release: a cached build must leave every byte of it as the build that
/// made it, dist-manifest.json included.
#[test]
fn dist_manifest_on_disk_differs_only_in_the_cached_flags() {
    // The manifest says honestly what this run built (`recipe.cached`, as the contract asks);
    // everything else in it, keys and digests included, is the same on a cached rebuild.
    let (fx, _host) = host_app();
    fx.ok(&["build"]);
    let read = || -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(distrib(&fx).join("dist-manifest.json")).unwrap())
            .unwrap()
    };
    let mut first = read();
    fx.ok(&["build"]);
    let mut second = read();
    for (m, want) in [(&mut first, false), (&mut second, true)] {
        for (name, a) in m["artifacts"].as_object_mut().unwrap() {
            let cached = a["recipe"].as_object_mut().unwrap().remove("cached");
            assert_eq!(cached, Some(serde_json::Value::Bool(want)), "{name}");
        }
    }
    assert_eq!(first, second);
}

#[test]
fn readme_edit_rearchives_without_recompiling() {
    let (fx, host) = host_app();
    let archive = archive_name(&host);
    let first = recipe_states(&fx.json(&["build", "-o", "json"]));
    let old_bin = std::fs::read(
        unpack(&fx, &distrib(&fx).join(&archive), "old", &["-xJf"])
            .join(format!("{APP}-{host}/{APP}")),
    )
    .unwrap();

    fx.file("README.md", "# greeter\n\nNow with more words.\n");
    let explain = fx.ok(&["explain", &archive]);
    assert!(
        explain.contains("README.md") && explain.contains("differs from the last build"),
        "explain does not name README.md:\n{explain}"
    );
    assert!(
        !explain.contains("(cargo build)"),
        "a README edit must not touch the cargo build:\n{explain}"
    );

    // No cargo may run: the binary comes from the store.
    let second = recipe_states(&build_without_cargo(fx.dir.path(), fx.root(), &fx.store()));
    assert!(!second[&archive].0, "the archive was not rebuilt");
    assert_ne!(second[&archive].1, first[&archive].1, "same archive bytes");

    let new_root =
        unpack(&fx, &distrib(&fx).join(&archive), "new", &["-xJf"]).join(format!("{APP}-{host}"));
    assert_eq!(
        std::fs::read(new_root.join("README.md")).unwrap(),
        b"# greeter\n\nNow with more words.\n"
    );
    assert!(
        std::fs::read(new_root.join(APP)).unwrap() == old_bin,
        "the binary changed although only README.md did"
    );
    sha256sum_check(&distrib(&fx), &format!("{archive}.sha256"));

    // One cargo build in the store, two archives.
    let rows = store_rows(&fx);
    let count = |label: &str| rows.iter().filter(|r| r["label"] == label).count();
    assert_eq!(count(&format!("{APP}-{host} (cargo build)")), 1);
    assert_eq!(count(&archive), 2);
}

#[test]
fn main_rs_edit_recompiles_and_explain_names_it() {
    let (fx, host) = host_app();
    let archive = archive_name(&host);
    fx.ok(&["build"]);
    let old_bin = std::fs::read(
        unpack(&fx, &distrib(&fx).join(&archive), "old", &["-xJf"])
            .join(format!("{APP}-{host}/{APP}")),
    )
    .unwrap();

    fx.file("src/main.rs", &app_main("goodbye from greeter"));
    let human = fx.ok(&["explain", &archive]);
    let build_label = format!("{APP}-{host} (cargo build)");
    let (_, under_build) = human
        .split_once(&build_label)
        .unwrap_or_else(|| panic!("explain does not descend into the cargo build:\n{human}"));
    assert!(
        under_build.contains("file src/main.rs changed"),
        "explain does not name src/main.rs under the cargo build:\n{human}"
    );
    let json = fx.json(&["explain", &archive, "-o", "json"]);
    assert_eq!(json["cached"], false);
    let consumed = json["consumed"].as_array().unwrap();
    let build = consumed
        .iter()
        .find(|c| c["label"] == build_label.as_str())
        .unwrap_or_else(|| panic!("no consumed cargo build in {json}"));
    let changed: Vec<&str> = build["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["input"].as_str().unwrap())
        .collect();
    assert_eq!(changed, vec!["file:src/main.rs"]);

    let states = recipe_states(&fx.json(&["build", "-o", "json"]));
    assert!(!states[&archive].0);
    let new_root =
        unpack(&fx, &distrib(&fx).join(&archive), "new", &["-xJf"]).join(format!("{APP}-{host}"));
    assert!(
        std::fs::read(new_root.join(APP)).unwrap() != old_bin,
        "the binary did not change"
    );
    assert_eq!(run_binary(&new_root.join(APP)), "goodbye from greeter\n");
    // Built and nothing left to explain.
    let after = fx.ok(&["explain", &archive]);
    assert!(
        after.contains("is in the store, nothing to rebuild"),
        "{after}"
    );
}

#[test]
fn builds_are_bit_identical_across_paths_stores_cargo_homes_umasks_and_timezones() {
    let (fx, _host) = host_app();
    let base = fx.dir.path();
    let runs = [
        ("a", "077", "UTC"),
        ("a-much-longer/nested/copy", "022", "Pacific/Chatham"),
    ];
    let mut trees = Vec::new();
    for (dir, umask, tz) in runs {
        let ws = base.join(dir).join("ws");
        copy_workspace(fx.root(), &ws);
        let store = base.join(dir).join("store");
        let cargo_home = base.join(dir).join("cargo-home");
        std::fs::create_dir_all(&cargo_home).unwrap();
        let inner = dist_command(&ws, &store, &["build"]);
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("umask {umask}; exec \"$0\" \"$@\""))
            .arg(inner.get_program())
            .args(inner.get_args())
            .current_dir(&ws)
            .env("CARGO_DIST_STORE", &store)
            .env("CARGO_HOME", &cargo_home)
            .env("TZ", tz);
        run_ok(&mut cmd);
        trees.push(read_tree(&ws.join("target/distrib")));
    }
    assert_eq!(
        trees[0].keys().collect::<Vec<_>>(),
        trees[1].keys().collect::<Vec<_>>()
    );
    assert!(trees[0].len() >= 4, "{:?}", trees[0].keys());
    for (name, bytes) in &trees[0] {
        assert!(
            bytes == &trees[1][name],
            "{name} differs between the two builds"
        );
    }
}

#[test]
fn rebuild_flag_reproduces_a_cached_build() {
    let (fx, host) = host_app();
    fx.ok(&["build"]);
    let before = read_tree(&distrib(&fx));
    let rows_before = store_rows(&fx);
    let (stdout, stderr) = fx.ok_both(&["build", "--rebuild"]);
    assert!(
        !stdout.contains("NOT REPRODUCIBLE") && !stderr.contains("NOT REPRODUCIBLE"),
        "{stderr}"
    );
    assert!(
        stdout.contains(&archive_name(&host)),
        "the manifest names the archive:\n{stdout}"
    );
    let after = read_tree(&distrib(&fx));
    for (name, bytes) in &before {
        if name != "dist-manifest.json" {
            assert!(bytes == &after[name], "{name} changed after --rebuild");
        }
    }
    // The store records the same recipes with the same outputs.
    let strip = |rows: &[Value]| -> Vec<(String, String, Value)> {
        rows.iter()
            .map(|r| {
                (
                    r["key"].as_str().unwrap().to_string(),
                    r["label"].as_str().unwrap().to_string(),
                    r["size"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(strip(&store_rows(&fx)), strip(&rows_before));
    fx.ok(&["store", "verify"]);
}

#[test]
fn failed_cargo_build_exits_1_and_changes_nothing() {
    let (fx, host) = host_app();
    fx.ok(&["build"]);
    let before = read_tree(&distrib(&fx));
    let rows_before = store_rows(&fx);
    let objects_before: Vec<String> = read_tree(&fx.store().join("objects")).into_keys().collect();

    fx.file("src/main.rs", "fn main() {\n    println!(\"oops\"\n}\n");
    let stderr = fx.fails(&["build"], 1);
    assert!(
        stderr.contains("error") && stderr.contains("src/main.rs"),
        "cargo's diagnostic is missing:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("`cargo build` of {APP} for {host} failed")),
        "{stderr}"
    );
    assert_eq!(store_rows(&fx).len(), rows_before.len());
    let objects_after: Vec<String> = read_tree(&fx.store().join("objects")).into_keys().collect();
    assert_eq!(objects_after, objects_before);
    assert!(
        read_tree(&distrib(&fx)) == before,
        "target/distrib changed after a failed build"
    );
}

#[test]
fn local_build_of_a_target_without_its_std_says_how_to_get_it() {
    let host = host_triple();
    let other = foreign_target(&host);
    let fx = dist_app(
        APP,
        HELLO,
        &format!("targets = [\"{host}\", \"{other}\"]\n"),
    );
    let stderr = fx.fails(
        &["build", "--artifacts=local", &format!("--target={other}")],
        1,
    );
    assert!(
        stderr.contains(&format!(
            "the Rust standard library for {other} is not installed"
        )) && stderr.contains(&format!("rustup target add {other}")),
        "{stderr}"
    );
    assert!(
        !fx.root()
            .join(format!("target/distrib/{APP}-{other}.tar.xz"))
            .exists(),
        "an archive for {other} was written"
    );
}

#[test]
fn tar_gz_and_tar_zst_archives_unpack_with_the_system_tar() {
    let host = host_triple();
    let fx = dist_app(
        APP,
        HELLO,
        &format!("targets = [\"{host}\"]\nunix-archive = \".tar.gz\"\n"),
    );
    for (ext, flags) in [
        (".tar.gz", &["-xzf"][..]),
        (".tar.zst", &["--zstd", "-xf"][..]),
    ] {
        if ext == ".tar.zst" {
            let toml = std::fs::read_to_string(fx.root().join("Cargo.toml")).unwrap();
            fx.file(
                "Cargo.toml",
                &toml.replace("unix-archive = \".tar.gz\"", "unix-archive = \".tar.zst\""),
            );
        }
        fx.ok(&["build"]);
        let name = format!("{APP}-{host}{ext}");
        let dir = distrib(&fx);
        assert!(dir.join(&name).is_file(), "{name} was not built");
        sha256sum_check(&dir, &format!("{name}.sha256"));
        let out = unpack(&fx, &dir.join(&name), &format!("unpacked{ext}"), flags);
        let root = out.join(format!("{APP}-{host}"));
        let mut members: Vec<String> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        members.sort();
        assert_eq!(members, vec!["CHANGELOG.md", "LICENSE", "README.md", APP]);
        assert_eq!(run_binary(&root.join(APP)), format!("{HELLO}\n"));
    }
}

/// xz and zstd compress on several threads, in fixed-size blocks: an App with a 9 MiB binary
/// (two blocks) gives the same .tar.xz and .tar.zst bytes with 1 and with 2 compressor threads.
#[test]
fn archive_bytes_do_not_depend_on_the_compressor_threads() {
    let host = host_triple();
    let fx = dist_app(
        APP,
        HELLO,
        &format!("targets = [\"{host}\"]\nunix-archive = \".tar.xz\"\n"),
    );
    // Compressible but not trivially: words from a small vocabulary, in a fixed pseudo-random order.
    let mut blob = Vec::with_capacity(9 << 20);
    let mut state: u64 = 11;
    while blob.len() < 9 << 20 {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        blob.extend_from_slice(format!("w{} ", (state >> 40) % 4096).as_bytes());
    }
    std::fs::write(fx.root().join("blob.bin"), &blob).unwrap();
    fx.file(
        "src/main.rs",
        &format!(
            "static BLOB: &[u8] = include_bytes!(\"../blob.bin\");\nfn main() {{\n    let blob = std::hint::black_box(BLOB);\n    println!(\"{HELLO} {{}}\", blob.iter().map(|b| *b as u64).sum::<u64>());\n}}\n"
        ),
    );
    for ext in [".tar.xz", ".tar.zst"] {
        let toml = std::fs::read_to_string(fx.root().join("Cargo.toml")).unwrap();
        fx.file(
            "Cargo.toml",
            &toml.replace(
                "unix-archive = \".tar.xz\"",
                &format!("unix-archive = \"{ext}\""),
            ),
        );
        let name = format!("{APP}-{host}{ext}");
        let mut archives = Vec::new();
        for threads in ["1", "2"] {
            let ws = fx.dir.path().join(format!("t{threads}{ext}")).join("ws");
            copy_workspace(fx.root(), &ws);
            let store = ws.parent().unwrap().join("store");
            let mut cmd = dist_command(&ws, &store, &["build"]);
            cmd.env("CARGO_DIST_COMPRESS_THREADS", threads);
            run_ok(&mut cmd);
            let dir = ws.join("target/distrib");
            sha256sum_check(&dir, &format!("{name}.sha256"));
            archives.push(std::fs::read(dir.join(&name)).unwrap());
        }
        assert!(
            archives[0].len() > 1 << 16,
            "{name} is {} bytes",
            archives[0].len()
        );
        assert!(
            archives[0] == archives[1],
            "{name} differs between 1 and 2 compressor threads"
        );
    }
}

/// `cargo-auditable = true`: the build runs under the pinned cargo-auditable (installed into the
/// tools directory when missing), and the shipped binary carries its dependency tree in a
/// `.dep-v0` section (zlib-compressed JSON) that objcopy extracts; turning it on changes the key.
#[test]
fn cargo_auditable_embeds_the_dependency_tree() {
    let host = host_triple();
    let fx = dist_app(APP, HELLO, &format!("targets = [\"{host}\"]\n"));
    let plain_key =
        fx.json(&["plan", "-o", "json"])["artifacts"][archive_name(&host)]["recipe"]["key"].clone();
    let toml = std::fs::read_to_string(fx.root().join("Cargo.toml")).unwrap();
    fx.file(
        "Cargo.toml",
        &toml.replace(
            "[workspace.metadata.dist]\n",
            "[workspace.metadata.dist]\ncargo-auditable = true\n",
        ),
    );
    let manifest = fx.json(&["build", "-o", "json"]);
    assert_ne!(
        manifest["artifacts"][archive_name(&host)]["recipe"]["key"],
        plain_key,
        "cargo-auditable is not in the key"
    );
    let out = fx.cmd(&["build"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("not acted on"), "{stderr}");
    let unpacked = unpack(
        &fx,
        &distrib(&fx).join(archive_name(&host)),
        "aud",
        &["-xJf"],
    );
    let binary = unpacked.join(format!("{APP}-{host}/{APP}"));
    assert_eq!(run_binary(&binary), format!("{HELLO}\n"));
    let section = fx.dir.path().join("dep-v0.zlib");
    let dump = Command::new("objcopy")
        .arg(format!("--dump-section=.dep-v0={}", section.display()))
        .arg(&binary)
        .arg(fx.dir.path().join("objcopy-out"))
        .output()
        .expect("objcopy (binutils) is needed");
    assert!(
        dump.status.success(),
        "no .dep-v0 section: {}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let json = Command::new("python3")
        .arg("-c")
        .arg("import sys, zlib; sys.stdout.write(zlib.decompress(open(sys.argv[1], 'rb').read()).decode())")
        .arg(&section)
        .output()
        .expect("python3 is needed");
    assert!(
        json.status.success(),
        "{}",
        String::from_utf8_lossy(&json.stderr)
    );
    let tree: Value = serde_json::from_slice(&json.stdout).unwrap();
    let names: Vec<&str> = tree["packages"]
        .as_array()
        .expect("a packages list")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(names.contains(&APP), "{tree}");
}

/// Every kind of input, changed alone after a build, changes the archive's key and `explain`
/// names it (one build; each change is reverted before the next).
#[test]
fn explain_names_each_kind_of_changed_input() {
    let (fx, host) = host_app();
    fx.ok(&["build"]);
    let archive = archive_name(&host);
    let manifest = std::fs::read_to_string(fx.root().join("Cargo.toml")).unwrap();
    let explain = |env: &[(&str, &str)]| -> String {
        let mut cmd = dist_command(fx.root(), &fx.store(), &["explain", &archive]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        String::from_utf8(run_ok(&mut cmd).stdout).unwrap()
    };
    let unchanged = explain(&[]);
    assert!(unchanged.contains("is in the store"), "{unchanged}");

    // A profile field.
    fx.file(
        "Cargo.toml",
        &format!("{manifest}\n[profile.dist]\ninherits = \"release\"\nopt-level = 2\n"),
    );
    let out = explain(&[]);
    assert!(
        out.contains("[profile.dist] field `opt-level` added (2)"),
        "{out}"
    );
    // A config key the build depends on.
    fx.file(
        "Cargo.toml",
        &manifest.replace(
            "[workspace.metadata.dist]\n",
            "[workspace.metadata.dist]\ndefault-features = false\n",
        ),
    );
    let out = explain(&[]);
    assert!(
        out.contains("config key `default-features` changed: true -> false"),
        "{out}"
    );
    // A config key only the archive depends on: the cargo build stays as it was.
    fx.file(
        "Cargo.toml",
        &manifest.replace(
            "[workspace.metadata.dist]\n",
            "[workspace.metadata.dist]\nauto-includes = false\n",
        ),
    );
    let out = explain(&[]);
    assert!(out.contains("archive member README.md removed"), "{out}");
    fx.file("Cargo.toml", &manifest);
    // An allow-listed environment variable.
    let out = explain(&[("RUSTFLAGS", "-Cdebuginfo=1")]);
    assert!(
        // Values are JSON strings, so unset and the string "(unset)" never look alike.
        out.contains("environment variable RUSTFLAGS changed: (unset) -> \"-Cdebuginfo=1\""),
        "{out}"
    );
    // A variable outside the allow-list changes nothing.
    let out = explain(&[("SOME_UNRELATED_VAR", "1")]);
    assert!(out.contains("is in the store"), "{out}");
    // A new source file.
    fx.file("src/extra.rs", "pub fn f() {}\n");
    let out = explain(&[]);
    assert!(out.contains("file src/extra.rs added"), "{out}");
}

/// Two builds of the same workspace at once: both succeed, each recipe is built once (one row,
/// one object per output), and the store verifies.
#[test]
fn concurrent_builds_share_one_build_per_key() {
    let (fx, _host) = host_app();
    let spawn = || {
        dist_command(fx.root(), &fx.store(), &["build", "-o", "json"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let rows = store_rows(&fx);
    let mut labels: Vec<String> = rows
        .iter()
        .map(|r| r["label"].as_str().unwrap().to_string())
        .collect();
    let n = labels.len();
    labels.dedup();
    assert_eq!(labels.len(), n, "a recipe was recorded twice: {labels:?}");
    // Exactly one of the two built each recipe; the other found it cached.
    let states =
        |o: &std::process::Output| recipe_states(&serde_json::from_slice(&o.stdout).unwrap());
    for (name, (cached_a, digest_a)) in states(&a) {
        let (cached_b, digest_b) = states(&b)[&name].clone();
        assert_eq!(digest_a, digest_b, "{name}");
        assert!(
            cached_a != cached_b,
            "{name}: cached {cached_a} and {cached_b}"
        );
    }
    fx.ok(&["store", "verify"]);
}

/// Killing a build at arbitrary moments leaves a store that verifies and no half-written file
/// in target/distrib; the next build then succeeds.
#[test]
fn killed_builds_leave_a_verifiable_store_and_whole_files() {
    let (fx, _host) = host_app();
    for (i, delay_ms) in [30u64, 120, 250, 400, 700, 1000].iter().enumerate() {
        // Each round has something new to build.
        fx.file("src/main.rs", &app_main(&format!("round {i}")));
        let mut child = dist_command(fx.root(), &fx.store(), &["build"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(*delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        fx.ok(&["store", "verify"]);
        // Every artifact file there is whole: exactly the bytes of some store object (a kill
        // may leave a hidden temp file, never a partial artifact); the manifest parses.
        for (name, bytes) in visible_files(&distrib(&fx)) {
            if name == "dist-manifest.json" {
                serde_json::from_slice::<serde_json::Value>(&bytes)
                    .unwrap_or_else(|e| panic!("half-written {name}: {e}"));
                continue;
            }
            let hex = blake3::hash(&bytes).to_hex().to_string();
            let object = fx.store().join("objects").join(&hex[..2]).join(&hex);
            assert!(object.is_file(), "{name} is not a whole stored object");
        }
    }
    fx.ok(&["build"]);
    sha256sum_check(
        &distrib(&fx),
        &format!("{}.sha256", archive_name(&host_triple())),
    );
    // The next build sweeps temp files a killed one left.
    let leftovers: Vec<String> = std::fs::read_dir(distrib(&fx))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Non-hidden regular files of `dir` (none when it does not exist yet).
fn visible_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .map(|n| {
            let bytes = std::fs::read(dir.join(&n)).unwrap();
            (n, bytes)
        })
        .collect()
}

/// A workspace root listing members alpha, beta and shared, built for `host` (the members are
/// the caller's).
fn alpha_beta_shared(host: &str) -> Fixture {
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        &format!(
            "[workspace]\nmembers = [\"alpha\", \"beta\", \"shared\"]\nresolver = \"2\"\n\n[workspace.metadata.dist]\ntargets = [\"{host}\"]\n"
        ),
    );
    fx
}

/// `cargo generate-lockfile --offline` in the fixture (its members have no registry dependencies).
fn generate_lockfile(fx: &Fixture) {
    let lock = Command::new(real_cargo())
        .args(["generate-lockfile", "--offline"])
        .current_dir(fx.root())
        .output()
        .unwrap();
    assert!(
        lock.status.success(),
        "{}",
        String::from_utf8_lossy(&lock.stderr)
    );
}

/// Independent recipes run side by side (alpha's archive while beta's cargo build runs), and
/// the schedule changes no byte: one job at a time and two at once give the same files.
#[test]
fn recipes_run_side_by_side_with_the_same_bytes() {
    let host = host_triple();
    let fx = alpha_beta_shared(&host);
    fx.file(
        "shared/Cargo.toml",
        "[package]\nname = \"shared\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .file(
        "shared/src/lib.rs",
        "pub fn name() -> &'static str {\n    \"shared\"\n}\n",
    );
    for app in ["alpha", "beta"] {
        fx.file(
            &format!("{app}/Cargo.toml"),
            &format!("[package]\nname = \"{app}\"\nversion = \"1.0.0\"\nedition = \"2021\"\n\n[dependencies]\nshared = {{ path = \"../shared\" }}\n"),
        )
        .file(
            &format!("{app}/src/main.rs"),
            &format!("fn main() {{\n    println!(\"{app} uses {{}}\", shared::name());\n}}\n"),
        );
    }
    generate_lockfile(&fx);
    let build = |jobs: &str| -> (PathBuf, Vec<String>) {
        let ws = fx.dir.path().join(jobs).join("ws");
        copy_workspace(fx.root(), &ws);
        let store = fx.dir.path().join(jobs).join("store");
        let out = run_ok(dist_command(&ws, &store, &["build"]).env("CARGO_DIST_JOBS", jobs));
        let log = String::from_utf8(out.stderr).unwrap();
        (ws, log.lines().map(|l| l.trim().to_string()).collect())
    };

    let (one, log) = build("1");
    assert_eq!(
        most_in_flight(&log),
        (1, false),
        "one job at a time, yet recipes overlapped:\n{}",
        log.join("\n")
    );
    let (two, log) = build("2");
    assert_eq!(
        most_in_flight(&log),
        (2, true),
        "with two jobs, no archive was made while a cargo build ran:\n{}",
        log.join("\n")
    );
    let (a, b) = (distrib_files(&one), distrib_files(&two));
    assert!(
        a.len() >= 5,
        "too few artifacts: {:?}",
        a.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    assert_eq!(
        a.iter().map(|f| &f.0).collect::<Vec<_>>(),
        b.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{name} differs between one job and two");
    }
}

/// The most recipes in flight at once in a build's progress log, and whether a cargo build
/// ever ran beside an archive.
fn most_in_flight(log: &[String]) -> (usize, bool) {
    let mut running = std::collections::BTreeSet::new();
    let (mut most, mut beside) = (0, false);
    for line in log {
        let Some((word, rest)) = line.split_once(' ') else {
            continue;
        };
        let label = rest.split(" (").next().unwrap();
        let label = if rest.ends_with("(cargo build)") || rest.contains("(cargo build) (") {
            format!("{label} (cargo build)")
        } else {
            label.to_string()
        };
        match word {
            "building" | "compressing" => {
                running.insert(label);
            }
            "built" | "cached" | "reproduced" => {
                running.remove(&label);
            }
            _ => continue,
        }
        most = most.max(running.len());
        beside |= running.iter().any(|l| l.ends_with("(cargo build)"))
            && running.iter().any(|l| l.ends_with(".tar.xz"));
    }
    (most, beside)
}

/// Every file of `ws`'s target/distrib with its bytes, sorted by name.
fn distrib_files(ws: &Path) -> Vec<(String, Vec<u8>)> {
    let dir = ws.join("target/distrib");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let bytes = std::fs::read(dir.join(&n)).unwrap();
            (n, bytes)
        })
        .collect::<Vec<_>>()
}

/// A workspace of several members: each App builds alone (the sandbox holds the other members'
/// manifests and placeholders, not their code); editing another member or the dist config
/// leaves an App's cargo build cached.
#[test]
fn multi_member_workspace_builds_each_app_in_isolation() {
    let host = host_triple();
    let fx = alpha_beta_shared(&host);
    fx.package("alpha", "alpha", "1.0.0", &["alpha"], "")
    .package("beta", "beta", "2.0.0", &["beta", "beta-tool"], "")
    .package("shared", "shared", "0.1.0", &[], "")
    .file(
        "alpha/Cargo.toml",
        "[package]\nname = \"alpha\"\nversion = \"1.0.0\"\nedition = \"2021\"\n\n[dependencies]\nshared = { path = \"../shared\" }\n",
    )
    .file(
        "alpha/src/main.rs",
        "fn main() {\n    println!(\"alpha uses {}\", shared::describe());\n}\n",
    );
    generate_lockfile(&fx);

    let first = recipe_states(&fx.json(&["build", "--tag", "alpha-v1.0.0", "-o", "json"]));
    let archive = format!("alpha-{host}.tar.xz");
    assert!(first.contains_key(&archive), "{first:?}");
    let unpacked = unpack(&fx, &distrib(&fx).join(&archive), "alpha", &["-xJf"]);
    let out = run_binary(&unpacked.join(format!("alpha-{host}/alpha")));
    assert_eq!(out.trim(), "alpha uses shared 0.1.0");

    // Another member's code, and the dist config, are not inputs of alpha's build.
    fx.file(
        "beta/src/bin/beta.rs",
        "fn main() { println!(\"changed\"); }\n",
    );
    let manifest = std::fs::read_to_string(fx.root().join("Cargo.toml")).unwrap();
    fx.file(
        "Cargo.toml",
        &manifest.replace(
            "[workspace.metadata.dist]\n",
            "[workspace.metadata.dist]\nchecksum = \"sha256\"\n",
        ),
    );
    let out = fx.ok(&["explain", "--tag", "alpha-v1.0.0", &archive]);
    assert!(out.contains("is in the store"), "{out}");
    // A path dependency's code is.
    fx.file(
        "shared/src/lib.rs",
        "pub fn describe() -> String { \"shared, edited\".into() }\n",
    );
    let out = fx.ok(&["explain", "--tag", "alpha-v1.0.0", &archive]);
    assert!(out.contains("file shared/src/lib.rs changed"), "{out}");

    // beta, with two binaries, builds too.
    fx.ok(&["build", "--tag", "beta-v2.0.0"]);
    let files: BTreeSet<String> = read_tree(&distrib(&fx)).into_keys().collect();
    assert!(files.contains(&format!("beta-{host}.tar.xz")), "{files:?}");
}

/// alpha and beta use `shared`; beta turns on its `extra` feature, which changes what
/// `shared::describe()` says.
fn alpha_beta_with_a_feature(host: &str) -> Fixture {
    let fx = alpha_beta_shared(host);
    fx.file(
        "shared/Cargo.toml",
        "[package]\nname = \"shared\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[features]\nextra = []\n",
    )
    .file(
        "shared/src/lib.rs",
        "pub fn describe() -> &'static str {\n    if cfg!(feature = \"extra\") { \"shared with extra\" } else { \"shared\" }\n}\n",
    )
    .file(
        "alpha/Cargo.toml",
        "[package]\nname = \"alpha\"\nversion = \"1.0.0\"\nedition = \"2021\"\n\n[dependencies]\nshared = { path = \"../shared\" }\n",
    )
    .file(
        "alpha/src/main.rs",
        "fn main() {\n    println!(\"alpha uses {}\", shared::describe());\n}\n",
    )
    .file(
        "beta/Cargo.toml",
        "[package]\nname = \"beta\"\nversion = \"2.0.0\"\nedition = \"2021\"\n\n[dependencies]\nshared = { path = \"../shared\", features = [\"extra\"] }\n",
    )
    .file(
        "beta/src/main.rs",
        "fn main() {\n    println!(\"beta uses {}\", shared::describe());\n}\n",
    );
    generate_lockfile(&fx);
    fx
}

/// The Apps of a target share one sandbox (and cargo's compiled dependencies), but an App's
/// bytes never depend on what was built before it: alpha built alone equals alpha built after
/// beta, which enables an extra feature of their shared library; both feature variants of the
/// library live side by side in the shared target dir, and alpha's snapshot holds no beta code.
#[test]
fn apps_share_a_sandbox_without_changing_each_others_bytes() {
    let host = host_triple();
    let fx = alpha_beta_with_a_feature(&host);
    let archive = format!("alpha-{host}.tar.xz");
    let build = |dir: &str, tags: &[&str]| -> PathBuf {
        let ws = fx.dir.path().join(dir).join("ws");
        copy_workspace(fx.root(), &ws);
        let store = fx.dir.path().join(dir).join("store");
        for tag in tags {
            run_ok(&mut dist_command(&ws, &store, &["build", "--tag", tag]));
        }
        ws
    };
    let alone = build("alone", &["alpha-v1.0.0"]);
    let after = build("after-beta", &["beta-v2.0.0", "alpha-v1.0.0"]);
    let alpha_alone = std::fs::read(alone.join("target/distrib").join(&archive)).unwrap();
    let alpha_after = std::fs::read(after.join("target/distrib").join(&archive)).unwrap();
    assert!(
        alpha_alone == alpha_after,
        "alpha's archive depends on beta having been built first"
    );
    let unpacked = unpack(
        &fx,
        &after.join("target/distrib").join(&archive),
        "alpha",
        &["-xJf"],
    );
    assert_eq!(
        run_binary(&unpacked.join(format!("alpha-{host}/alpha"))).trim(),
        "alpha uses shared"
    );

    // One sandbox for the target, holding both variants of the library, and alpha's inputs only.
    let targets = after.join("target/dist-work/targets");
    let sandboxes: Vec<_> = std::fs::read_dir(&targets)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".lock"))
        .collect();
    assert_eq!(sandboxes, std::slice::from_ref(&host));
    let sandbox = targets.join(&host);
    let variants = std::fs::read_dir(sandbox.join(format!("target/{host}/dist/deps")))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("libshared-") && n.ends_with(".rlib"))
        .count();
    assert_eq!(variants, 2, "one compiled library per feature set");
    let beta_main = std::fs::read(sandbox.join("src/beta/src/main.rs")).unwrap();
    assert!(beta_main.is_empty(), "beta's code is in alpha's snapshot");
    // beta's binary still runs as built, from its own archive.
    let beta = unpack(
        &fx,
        &after.join(format!("target/distrib/beta-{host}.tar.xz")),
        "beta",
        &["-xJf"],
    );
    assert_eq!(
        run_binary(&beta.join(format!("beta-{host}/beta"))).trim(),
        "beta uses shared with extra"
    );
}

/// Rustflags from the workspace's .cargo/config.toml reach the build (and are inputs).
#[test]
fn workspace_config_rustflags_reach_the_build() {
    let (fx, host) = host_app();
    fx.file(
        ".cargo/config.toml",
        "[build]\nrustflags = [\"--cfg\", \"dist_flag\"]\n",
    )
    .file(
        "src/main.rs",
        "fn main() {\n    println!(\"flag {}\", cfg!(dist_flag));\n}\n",
    );
    fx.ok(&["build"]);
    let unpacked = unpack(
        &fx,
        &distrib(&fx).join(archive_name(&host)),
        "flags",
        &["-xJf"],
    );
    let out = run_binary(&unpacked.join(format!("{APP}-{host}/{APP}")));
    assert_eq!(out.trim(), "flag true");
}

/// `--artifacts=global` (the CI job) refuses to write installers and sha256.sum for archives
/// whose checksums it does not have, naming the missing archive.
#[test]
fn global_build_without_the_archives_names_what_is_missing() {
    let host = host_triple();
    let fx = dist_app(
        APP,
        HELLO,
        &format!("targets = [\"{host}\"]\ninstallers = [\"shell\"]\n"),
    );
    let err = fx.fails(&["build", "--artifacts=global"], 1);
    assert!(
        err.contains(&format!("needs {}", archive_name(&host))),
        "{err}"
    );
    assert!(err.contains("store export"), "{err}");
    // After the local build, the global one has what it needs.
    fx.ok(&["build", "--artifacts=local"]);
    fx.ok(&["build", "--artifacts=global"]);
}
