//! Property tests over config tables nobody wrote by hand: documented and unknown keys with
//! values of any type, nested deep, strings huge. Reading one never panics; it is accepted
//! (unknown keys warned about by name) or refused with one short error naming the file and a
//! key of the table; and whatever is accepted resolves into a config without panicking.

use proptest::prelude::*;
use serde_json::{Map, Value};

use super::keys::{Scope, KEYS};
use super::{global_config, not_acted_on, package_config, read_layer, system_deps, Layer};

/// Words the config's values are made of, so generated values often get past the type check
/// and into the code that reads them.
const WORDS: &[&str] = &[
    "shell",
    "npm",
    "msi",
    "deb",
    "github",
    "packages",
    "x86_64-unknown-linux-gnu",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
    "CARGO_HOME",
    "~/bin",
    "$HOME/x",
    "owner/repo",
    "ubuntu-24.04",
    "*",
    "",
    "sha256",
    "false",
    "cdylib",
    "host",
    "../..",
    "$(touch pwned)",
    "a b\n\"c'",
    "ünïcödé",
];

/// Names tables inside values use (`mac-pkg-config`, `dependencies`, runners, ...).
const INNER: &[&str] = &[
    "identifier",
    "install-location",
    "apt",
    "homebrew",
    "chocolatey",
    "version",
    "targets",
    "stage",
    "global",
    "runner",
    "container",
    "image",
    "host",
    "package",
    "shell",
    "build",
    "artifacts",
    "unknown-inner",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(WORDS).prop_map(Value::from),
        ".{0,24}".prop_map(Value::String),
        // Huge: the error must not print it whole.
        (1usize..4).prop_map(|n| Value::String("x".repeat(n * 40_000))),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(6, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    prop::sample::select(INNER).prop_map(String::from),
                    "[a-z-]{1,8}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(KEYS.iter().map(|k| k.name).collect::<Vec<_>>())
            .prop_map(String::from),
        1 => "[a-z][a-z-]{0,20}",
    ]
}

/// A generated table; shown short when a case fails (its strings can be huge).
#[derive(Clone)]
struct Table(Map<String, Value>);

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = Value::Object(self.0.clone()).to_string();
        let short: String = text.chars().take(600).collect();
        write!(
            f,
            "{short}{}",
            if short.len() < text.len() { "…" } else { "" }
        )
    }
}

fn table() -> impl Strategy<Value = Table> {
    prop::collection::btree_map(key(), value(), 0..8).prop_map(|m| Table(m.into_iter().collect()))
}

/// Everything a resolved config is made from one layer, as workspace and as package.
fn resolve_all(layer: &Layer) {
    let none = Layer::default();
    let _ = global_config(layer);
    let _ = package_config(layer, &none);
    let _ = package_config(&none, layer);
    let _ = package_config(layer, layer);
    let _ = not_acted_on(std::slice::from_ref(layer));
    if let Some(deps) = layer.values.get("dependencies") {
        let _ = system_deps(deps);
    }
}

proptest! {
    // Bounded for CI: each case is a few microseconds of parsing.
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn any_table_is_read_or_refused_by_file_and_key(table in table(), package in any::<bool>()) {
        let entries = table.0;
        let (scope, name) = match package {
            true => (Scope::Any, "[package.metadata.dist]"),
            false => (Scope::Workspace, "[dist]"),
        };
        let file = "crates/app/Cargo.toml";
        let mut warnings = Vec::new();
        let v = Value::Object(entries.clone());
        match read_layer(&v, name, file, "crates/app", scope, &mut warnings) {
            Ok(layer) => {
                for k in entries.keys().filter(|k| super::keys::lookup(k).is_none()) {
                    let named = warnings.iter().any(|w| w.to_string().contains(&format!("`{k}`")));
                    prop_assert!(named, "unknown key {k} not warned about: {warnings:?}");
                }
                resolve_all(&layer);
            }
            Err(e) => {
                let msg = e.to_string();
                let short: String = msg.chars().take(400).collect();
                prop_assert!(msg.len() < 2000, "a {}-byte error: {short}", msg.len());
                prop_assert!(msg.contains(file), "{msg}");
                prop_assert!(
                    // `key` or a path inside it: `key.inner`, `key[0]`.
                    entries.keys().any(|k| ["`", ".", "["]
                        .iter()
                        .any(|end| msg.contains(&format!("`{k}{end}")))),
                    "no key of the table named: {msg}"
                );
            }
        }
    }
}
