//! `{formula}.rb`: a Homebrew formula installing the prebuilt archives.

use minijinja::context;
use serde::Serialize;

use super::{render, InstallerApp, InstallerError};

pub(crate) const TEMPLATE: &str = include_str!("../../templates/homebrew.rb.j2");

#[derive(Serialize)]
struct Cpu {
    name: &'static str,
    url: String,
    sha256: Option<String>,
}

#[derive(Serialize)]
struct Os {
    name: &'static str,
    cpus: Vec<Cpu>,
}

/// A Homebrew CPU block (`on_arm`/`on_intel`) and the targets that can serve it, best first.
type CpuTargets = (&'static str, &'static [&'static str]);

/// Homebrew's platforms and their CPUs: a universal macOS build covers both CPUs, a static musl
/// build stands in for a missing glibc one.
const PLATFORMS: [(&str, [CpuTargets; 2]); 2] = [
    (
        "macos",
        [
            ("arm", &["aarch64-apple-darwin", "universal2-apple-darwin"]),
            ("intel", &["x86_64-apple-darwin", "universal2-apple-darwin"]),
        ],
    ),
    (
        "linux",
        [
            (
                "arm",
                &["aarch64-unknown-linux-gnu", "aarch64-unknown-linux-musl"],
            ),
            (
                "intel",
                &["x86_64-unknown-linux-gnu", "x86_64-unknown-linux-musl"],
            ),
        ],
    ),
];

/// Renders the formula named `formula` (the file is `{formula}.rb`).
pub fn render_homebrew(app: &InstallerApp, formula: &str) -> Result<String, InstallerError> {
    app.validate()?;
    let valid_formula = formula
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && formula
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.+@".contains(c));
    if !valid_formula {
        return Err(InstallerError::InvalidField {
            what: "Homebrew formula name",
            value: formula.to_string(),
            reason: "must be lowercase [a-z0-9] plus -_.+@, starting with a letter or digit",
        });
    }
    let mut platforms = Vec::new();
    // `install-libraries` of every archive the formula fetches (a dylib on macOS, a .so on
    // Linux): each installed where the unpacked archive has it.
    let mut libraries = std::collections::BTreeSet::new();
    for (os, cpus) in PLATFORMS {
        let mut found = Vec::new();
        for (cpu, targets) in cpus {
            let Some(art) = app.best_artifact(targets) else {
                continue;
            };
            // An archive built on another runner may not be summed yet (a local `build`):
            // the formula then fetches it unchecked, as cargo-dist writes it. A CI global build
            // refuses to get here without every checksum.
            let sha256 = art.sha256.clone();
            libraries.extend(art.libraries.iter().cloned());
            found.push(Cpu {
                name: cpu,
                url: app.url_of(art),
                sha256,
            });
        }
        if !found.is_empty() {
            platforms.push(Os {
                name: os,
                cpus: found,
            });
        }
    }
    if platforms.is_empty() {
        return Err(app.no_suitable("Homebrew"));
    }
    render(
        "homebrew.rb",
        TEMPLATE,
        context! {
            class_name => formula_class_name(formula),
            desc => &app.description,
            homepage => &app.homepage,
            version => &app.app_version,
            license => app.license.as_deref().map(license_expr),
            platforms => platforms,
            binaries => &app.binaries,
            aliases => app.alias_list(),
            libraries => libraries,
        },
    )
}

/// The Ruby class a formula file must define: `my-app` -> `MyApp`, `foo@1.2` -> `FooAT12`,
/// `c++-tool` -> `CxxTool` (Homebrew's naming rule).
pub fn formula_class_name(formula: &str) -> String {
    let mut out = String::new();
    let mut upper_next = true;
    for c in formula.chars() {
        match c {
            '-' | '_' | '.' => upper_next = true,
            '@' => {
                out.push_str("AT");
                upper_next = true;
            }
            '+' => out.push('x'),
            c if upper_next => {
                out.push(c.to_ascii_uppercase());
                upper_next = false;
            }
            c => out.push(c),
        }
    }
    out
}

/// The argument of `license`: Homebrew spells SPDX `A OR B` as `any_of: [...]` and `A AND B`
/// as `all_of: [...]`; anything more complex is passed through as a string.
fn license_expr(spdx: &str) -> String {
    let words: Vec<&str> = spdx.split_whitespace().collect();
    let is_id = |w: &str| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '+'))
            && !matches!(w, "OR" | "AND" | "WITH")
    };
    for (op, key) in [("OR", "any_of"), ("AND", "all_of")] {
        if words.len() >= 3
            && words.iter().skip(1).step_by(2).all(|w| *w == op)
            && words.iter().step_by(2).all(|w| is_id(w))
            && words.len() % 2 == 1
        {
            let ids: Vec<String> = words
                .iter()
                .step_by(2)
                .map(|w| crate::template::rb_quote(w))
                .collect();
            return format!("{key}: [{}]", ids.join(", "));
        }
    }
    crate::template::rb_quote(spdx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn license_expressions() {
        assert_eq!(license_expr("MIT"), "\"MIT\"");
        assert_eq!(
            license_expr("MIT OR Apache-2.0"),
            "any_of: [\"MIT\", \"Apache-2.0\"]"
        );
        assert_eq!(
            license_expr("MIT AND BSD-3-Clause AND Zlib"),
            "all_of: [\"MIT\", \"BSD-3-Clause\", \"Zlib\"]"
        );
        assert_eq!(
            license_expr("(MIT OR Apache-2.0) AND Zlib"),
            "\"(MIT OR Apache-2.0) AND Zlib\""
        );
        assert_eq!(license_expr("MIT OR"), "\"MIT OR\"");
    }
}
