//! `store path | ls | verify | gc | export | import` and `plan` against a store filled by real
//! builds.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support;
use crate::support::{
    build_without_cargo, copy_workspace, dist_command, read_tree, recipe_states, run_ok,
    sha256sum_check, store_rows, Fixture,
};

const APP: &str = "keeper";
const HELLO: &str = "hello from keeper";

fn host_app() -> (Fixture, String) {
    support::host_app(APP, HELLO)
}

fn archive_name(host: &str) -> String {
    support::archive_name(APP, host)
}

fn distrib(root: &Path) -> PathBuf {
    root.join("target/distrib")
}

/// `store ls -o json` without the ages: (key, kind, label, size).
fn ls_rows(fx: &Fixture) -> Vec<(String, String, String, u64)> {
    store_rows(fx)
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_string(),
                r["kind"].as_str().unwrap().to_string(),
                r["label"].as_str().unwrap().to_string(),
                r["size"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Relative paths of every object file under `<store>/objects` (fan-out dirs left out).
fn object_files(store: &Path) -> Vec<String> {
    read_tree(&store.join("objects"))
        .into_keys()
        .filter(|p| !p.ends_with('/'))
        .collect()
}

fn object_path(store: &Path, blake3: &str) -> PathBuf {
    store.join("objects").join(&blake3[..2]).join(blake3)
}

/// The artifacts of a build manifest except `dist-manifest.json`.
fn artifacts_only(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut t = read_tree(&distrib(root));
    t.remove("dist-manifest.json");
    t
}

#[test]
fn store_path_prints_the_store_and_ls_lists_built_recipes() {
    let (fx, host) = host_app();
    assert_eq!(
        fx.ok(&["store", "path"]),
        format!("{}\n", fx.store().display())
    );
    // --store wins over the environment.
    let other = fx.dir.path().join("elsewhere");
    assert_eq!(
        fx.ok(&["store", "path", "--store", other.to_str().unwrap()]),
        format!("{}\n", other.display())
    );

    let manifest = fx.json(&["build", "-o", "json"]);
    let ls = fx.ok(&["store", "ls"]);
    let archive = archive_name(&host);
    let labels = [
        archive.clone(),
        format!("{archive}.sha256"),
        "sha256.sum".to_string(),
        format!("{APP}-{host} (cargo build)"),
    ];
    for label in &labels {
        assert!(
            ls.lines().any(|l| l.ends_with(&format!("  {label}"))),
            "store ls does not list {label}:\n{ls}"
        );
    }
    assert!(ls.ends_with("4 recipe(s)\n"), "{ls}");
    let key = manifest["artifacts"][&archive]["recipe"]["key"]
        .as_str()
        .unwrap();
    let line = ls.lines().find(|l| l.ends_with(&archive)).unwrap();
    assert!(line.starts_with(&key[..12]), "{line}");
    assert!(line.contains("archive"), "{line}");

    let rows = store_rows(&fx);
    let got: BTreeSet<String> = rows
        .iter()
        .map(|r| r["label"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, labels.iter().cloned().collect());
    let kinds: BTreeSet<&str> = rows.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["archive", "cargo-build", "checksum", "unified-checksum"])
    );
}

#[test]
fn verify_reports_a_flipped_byte_and_build_quarantines_and_rebuilds() {
    let (fx, host) = host_app();
    let archive = archive_name(&host);
    let manifest = fx.json(&["build", "-o", "json"]);
    let original = std::fs::read(distrib(fx.root()).join(&archive)).unwrap();
    let ok = fx.ok(&["store", "verify"]);
    assert!(ok.starts_with("ok: "), "{ok}");

    let blake3 = manifest["artifacts"][&archive]["recipe"]["blake3"]
        .as_str()
        .unwrap();
    let obj = object_path(&fx.store(), blake3);
    let mut perms = std::fs::metadata(&obj).unwrap().permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&perms) & 0o777,
        0o444
    );
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o644);
    std::fs::set_permissions(&obj, perms).unwrap();
    let mut bytes = std::fs::read(&obj).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&obj, &bytes).unwrap();

    let stderr = fx.fails(&["store", "verify"], 1);
    assert!(
        stderr.contains(&obj.display().to_string()) && stderr.contains("corrupt"),
        "verify does not name the corrupt object {}:\n{stderr}",
        obj.display()
    );

    // The copy in target/distrib still has the right bytes: a build leaves it, and reads no
    // object to find that out.
    fx.ok(&["build"]);
    assert_eq!(
        std::fs::read(distrib(fx.root()).join(&archive)).unwrap(),
        original
    );
    assert!(!fx.store().join("quarantine").join(blake3).exists());
    // Without it, the build copies from the store, finds the object corrupt and rebuilds it.
    std::fs::remove_file(distrib(fx.root()).join(&archive)).unwrap();
    let (_, stderr) = fx.ok_both(&["build"]);
    assert!(stderr.contains("warning:"), "no warning:\n{stderr}");
    assert!(
        fx.store().join("quarantine").join(blake3).is_file(),
        "the corrupt object was not quarantined"
    );
    let dir = distrib(fx.root());
    sha256sum_check(&dir, &format!("{archive}.sha256"));
    sha256sum_check(&dir, "sha256.sum");
    assert!(
        std::fs::read(dir.join(&archive)).unwrap() == original,
        "the rebuilt archive differs from the original"
    );
    // The object is back, whole.
    assert_eq!(std::fs::read(&obj).unwrap(), original);
    let ok = fx.ok(&["store", "verify"]);
    assert!(ok.starts_with("ok: "), "{ok}");
}

/// Copies in target/distrib are trusted by their stamps (inode, size, mode, times) once
/// settled; a copy changed since, even to the same size and modification time, is put back.
#[test]
fn a_changed_copy_in_distrib_is_put_back_whatever_its_times() {
    let (fx, host) = host_app();
    let archive = archive_name(&host);
    fx.ok(&["build"]);
    let path = distrib(fx.root()).join(&archive);
    let original = std::fs::read(&path).unwrap();
    // Settled (2 s old): the next build stamps the copies it finds in place.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    fx.ok(&["build"]);
    let stamps = fx.root().join("target/dist-work/distrib-stamps.json");
    let text = std::fs::read_to_string(&stamps).unwrap();
    assert!(text.contains(&archive), "{archive} is not stamped: {text}");

    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    let mut bytes = original.clone();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let file = std::fs::File::options().write(true).open(&path).unwrap();
    file.set_modified(modified).unwrap();
    drop(file);
    fx.ok(&["build"]);
    assert!(
        std::fs::read(&path).unwrap() == original,
        "the changed copy was left in place"
    );
    sha256sum_check(&distrib(fx.root()), &format!("{archive}.sha256"));
}

#[test]
fn export_import_into_a_fresh_store_makes_another_checkout_fully_cached() {
    let (fx, _host) = host_app();
    fx.ok(&["build"]);
    let bundle = fx.dir.path().join("bundle.tar");
    let out = fx.ok(&["store", "export", bundle.to_str().unwrap()]);
    assert!(out.starts_with("exported 4 recipe(s)"), "{out}");
    // Deterministic: the same store exports the same bytes.
    let again = fx.dir.path().join("bundle-again.tar");
    fx.ok(&["store", "export", again.to_str().unwrap()]);
    assert!(std::fs::read(&bundle).unwrap() == std::fs::read(&again).unwrap());

    let other = fx.dir.path().join("other checkout");
    let ws = other.join("ws");
    copy_workspace(fx.root(), &ws);
    let store2 = other.join("store");
    let out = run_ok(&mut dist_command(
        &ws,
        &store2,
        &["store", "import", bundle.to_str().unwrap()],
    ));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("imported 4 recipe(s)"), "{text}");
    run_ok(&mut dist_command(&ws, &store2, &["store", "verify"]));

    let states = recipe_states(&build_without_cargo(&other, &ws, &store2));
    assert!(!states.is_empty());
    for (name, (cached, _)) in &states {
        assert!(*cached, "{name} was not cached after the import");
    }
    let a = artifacts_only(fx.root());
    let b = artifacts_only(&ws);
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in &a {
        assert!(bytes == &b[name], "{name} differs in the other checkout");
    }
}

/// One ustar header block naming `name` raw (no path validation), for a regular file of `size`.
fn raw_header(name: &[u8], size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_size(size);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_cksum();
    h
}

#[test]
fn import_rejects_a_bundle_with_a_parent_dir_entry_and_changes_nothing() {
    let (fx, _host) = host_app();
    fx.ok(&["build"]);

    // Another store holding other recipes (an edited README), exported.
    let other = fx.dir.path().join("other");
    let ws = other.join("ws");
    copy_workspace(fx.root(), &ws);
    std::fs::write(ws.join("README.md"), "# keeper\n\nelsewhere\n").unwrap();
    let store2 = other.join("store");
    run_ok(&mut dist_command(&ws, &store2, &["build"]));
    let good = other.join("good.tar");
    run_ok(&mut dist_command(
        &ws,
        &store2,
        &["store", "export", good.to_str().unwrap()],
    ));

    // The same entries, then one that climbs out.
    let evil = other.join("evil.tar");
    {
        let mut builder = tar::Builder::new(std::fs::File::create(&evil).unwrap());
        let mut ar = tar::Archive::new(std::fs::File::open(&good).unwrap());
        let mut names = Vec::new();
        for entry in ar.entries().unwrap() {
            let mut entry = entry.unwrap();
            let mut header = entry.header().clone();
            names.push(entry.path().unwrap().to_string_lossy().into_owned());
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
            header.set_cksum();
            builder.append(&header, data.as_slice()).unwrap();
        }
        assert!(names.len() > 2, "{names:?}");
        let payload = b"escaped\n";
        builder
            .append(
                &raw_header(b"../escaped-from-bundle", payload.len() as u64),
                &payload[..],
            )
            .unwrap();
        builder.finish().unwrap();
    }

    let rows_before = ls_rows(&fx);
    let objects_before = object_files(&fx.store());
    assert!(!rows_before.is_empty());
    let stderr = fx.fails(&["store", "import", evil.to_str().unwrap()], 1);
    assert!(
        stderr.contains("..") && stderr.contains("escaped-from-bundle"),
        "the error does not name the bad entry:\n{stderr}"
    );
    assert_eq!(ls_rows(&fx), rows_before, "store ls changed");
    assert_eq!(object_files(&fx.store()), objects_before, "objects changed");
    for dir in [
        fx.dir.path().to_path_buf(),
        fx.store(),
        fx.store().join("tmp"),
        fx.root().to_path_buf(),
    ] {
        assert!(
            !dir.join("escaped-from-bundle").exists(),
            "the entry was written to {}",
            dir.display()
        );
    }
    fx.ok(&["store", "verify"]);

    // The untouched bundle imports fine into the same store: the rejection was the entry's.
    let out = fx.ok(&["store", "import", good.to_str().unwrap()]);
    assert!(out.starts_with("imported 4 recipe(s)"), "{out}");
    assert!(ls_rows(&fx).len() > rows_before.len());
}

/// Sets `last_used` (and `created_at`) of `keys` to `when` through the store library: gc's
/// windows are whole seconds of wall time, which a test cannot otherwise pin down.
fn age_recipes(store: &Path, keys: &[String], when: i64) {
    let s = dist_store::Store::open(store).unwrap();
    for k in keys {
        let key = dist_store::RecipeKey::from_hex(k).unwrap();
        s.set_times(&key, when, when).unwrap();
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn gc_drops_superseded_recipes_and_only_their_objects_and_dry_run_changes_nothing() {
    let (fx, host) = host_app();
    let archive = archive_name(&host);
    let first = fx.json(&["build", "-o", "json"]);
    fx.file("README.md", "# keeper\n\nsecond edition\n");
    let second = fx.json(&["build", "-o", "json"]);
    let key_of = |m: &Value, a: &str| {
        m["artifacts"][a]["recipe"]["key"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let blake3_of = |m: &Value, a: &str| {
        m["artifacts"][a]["recipe"]["blake3"]
            .as_str()
            .unwrap()
            .to_string()
    };

    // Superseded: the first build's archive, its checksum and sha256.sum.
    let current: BTreeSet<String> = second["artifacts"]
        .as_object()
        .unwrap()
        .keys()
        .map(|a| key_of(&second, a))
        .collect();
    let rows = ls_rows(&fx);
    let old: Vec<(String, String)> = rows
        .iter()
        .filter(|(k, kind, _, _)| !current.contains(k) && kind != "cargo-build")
        .map(|(k, _, l, _)| (k.clone(), l.clone()))
        .collect();
    let old_labels: BTreeSet<&str> = old.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(
        old_labels,
        BTreeSet::from([
            archive.as_str(),
            format!("{archive}.sha256").as_str(),
            "sha256.sum"
        ])
    );
    let old_keys: Vec<String> = old.iter().map(|(k, _)| k.clone()).collect();
    age_recipes(&fx.store(), &old_keys, now() - 10 * 86_400);

    let rows_before = ls_rows(&fx);
    let objects_before = object_files(&fx.store());
    let dry = fx.ok(&["store", "gc", "--keep-days", "1", "--dry-run"]);
    for (k, label) in &old {
        assert!(
            dry.contains(&format!("would remove {}  {label}", &k[..12])),
            "dry run does not list {label}:\n{dry}"
        );
    }
    assert!(dry.contains("would remove 3 recipe(s)"), "{dry}");
    assert_eq!(ls_rows(&fx), rows_before, "--dry-run removed recipes");
    assert_eq!(
        object_files(&fx.store()),
        objects_before,
        "--dry-run removed objects"
    );

    let out = fx.ok(&["store", "gc", "--keep-days", "1"]);
    assert!(out.contains("removed 3 recipe(s)"), "{out}");
    let kept: BTreeSet<String> = ls_rows(&fx).into_iter().map(|r| r.0).collect();
    let mut want = current.clone();
    want.extend(
        rows.iter()
            .filter(|r| r.1 == "cargo-build")
            .map(|r| r.0.clone()),
    );
    assert_eq!(kept, want);
    // The old archive's object is gone; every kept recipe's objects remain.
    assert!(!object_path(&fx.store(), &blake3_of(&first, &archive)).exists());
    for a in second["artifacts"].as_object().unwrap().keys() {
        assert!(object_path(&fx.store(), &blake3_of(&second, a)).is_file());
    }
    fx.ok(&["store", "verify"]);

    // What is left still builds the current workspace without cargo.
    let built = build_without_cargo(fx.dir.path(), fx.root(), &fx.store());
    for (name, (cached, _)) in recipe_states(&built) {
        assert!(cached, "{name} was dropped by gc");
    }
}

#[test]
fn gc_keep_days_0_drops_every_recipe_not_used_this_second() {
    let (fx, _host) = host_app();
    fx.ok(&["build"]);
    let before = artifacts_only(fx.root());
    let keys: Vec<String> = ls_rows(&fx).into_iter().map(|r| r.0).collect();
    assert_eq!(keys.len(), 4);
    // Used a minute ago: outside a zero-day window.
    age_recipes(&fx.store(), &keys, now() - 60);

    let dry = fx.ok(&["store", "gc", "--keep-days", "0", "--dry-run"]);
    assert!(dry.contains("would remove 4 recipe(s)"), "{dry}");
    assert_eq!(ls_rows(&fx).len(), 4);

    let out = fx.ok(&["store", "gc", "--keep-days", "0"]);
    assert!(out.contains("removed 4 recipe(s)"), "{out}");
    assert!(out.contains("kept 0 recipe(s)"), "{out}");
    assert!(ls_rows(&fx).is_empty());
    assert_eq!(object_files(&fx.store()), Vec::<String>::new());
    fx.ok(&["store", "verify"]);

    // Everything is built again, to the same bytes.
    let states = recipe_states(&fx.json(&["build", "-o", "json"]));
    for (name, (cached, _)) in &states {
        assert!(!cached, "{name} was still cached after gc");
    }
    assert!(artifacts_only(fx.root()) == before);
}

#[test]
fn plan_after_a_build_shows_the_archive_key_as_cached() {
    let (fx, host) = host_app();
    let archive = archive_name(&host);
    let before = fx.ok(&["plan"]);
    let built = fx.json(&["build", "-o", "json"]);
    let key = built["artifacts"][&archive]["recipe"]["key"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        before.contains(&format!("{archive}  [{} missing]", &key[..12])),
        "{before}"
    );

    let human = fx.ok(&["plan"]);
    assert!(
        human.contains(&format!("{archive}  [{} cached]", &key[..12])),
        "plan does not show {archive} as cached:\n{human}"
    );
    let sha_line = human
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{archive}.sha256  [")))
        .unwrap_or_else(|| panic!("no {archive}.sha256 line:\n{human}"));
    assert!(sha_line.ends_with(" cached]"), "{sha_line}");
    let json = fx.json(&["plan", "-o", "json"]);
    let a = &json["artifacts"][&archive];
    assert_eq!(a["recipe"]["key"], key.as_str(), "{a}");
    assert_eq!(a["recipe"]["cached"], true, "{a}");
    assert_eq!(
        a["recipe"]["blake3"],
        built["artifacts"][&archive]["recipe"]["blake3"]
    );
    let sha = &json["artifacts"][&format!("{archive}.sha256")];
    assert_eq!(sha["recipe"]["cached"], true, "{sha}");

    // A record whose object is gone is not cached: the plan says the archive is missing and
    // names no digest for it, while its checksum (a record of its own) stays cached.
    let blake3 = a["recipe"]["blake3"].as_str().unwrap();
    std::fs::remove_file(object_path(&fx.store(), blake3)).unwrap();
    let json = fx.json(&["plan", "-o", "json"]);
    let a = &json["artifacts"][&archive];
    assert_eq!(a["recipe"]["cached"], false, "{a}");
    assert!(a["recipe"]["blake3"].is_null(), "{a}");
    let sha = &json["artifacts"][&format!("{archive}.sha256")];
    assert_eq!(sha["recipe"]["cached"], true, "{sha}");
}
