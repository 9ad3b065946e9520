//! Release notes: a changelog (CHANGELOG.md / RELEASES.md) split into sections by heading, the
//! section of the announced version, and the GitHub Release body built around it.
//!
//! Pure: the caller reads the file (see `ops::notes`) and hands the text in.
//!
//! Recognised headings (ATX of any level, or setext `===` / `---` underlines):
//!
//! | heading                          | section of          |
//! |----------------------------------|---------------------|
//! | `## 1.2.0`, `## v1.2.0`          | 1.2.0               |
//! | `## [1.2.0] - 2024-01-01`        | 1.2.0               |
//! | `## Version 1.2.0`, `# 1.2.0`    | 1.2.0               |
//! | `1.2.0` underlined with `-----`  | 1.2.0               |
//! | `## my-app-v1.2.0`, `## my-app/1.2.0` | 1.2.0          |
//! | `## Unreleased`, `## [Unreleased]` | the unreleased section |
//!
//! A section runs until the next heading of the same or a higher level, so `### Added`
//! subsections stay inside their version's section.

use std::collections::BTreeMap;
use std::path::PathBuf;

use semver::Version;

use crate::manifest::DistManifest;
use crate::plan::{ArtifactKind, Plan};
use crate::workspace::{IncludeKind, Workspace};

/// The changelog could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ChangelogError {
    #[error("could not read the changelog {path}: {source}\n  make it a readable UTF-8 file, or remove it")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// One versioned (or "Unreleased") section of a changelog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The heading text, without `#`s or underline.
    pub title: String,
    /// 1 for `#` / `===`, 2 for `##` / `---`, ...
    pub level: usize,
    pub version: Option<Version>,
    pub unreleased: bool,
    /// The lines under the heading up to the next heading of the same or a higher level, trimmed.
    pub body: String,
}

/// A heading found in the text: (line index where it starts, lines it spans, level, title).
struct Heading {
    line: usize,
    span: usize,
    level: usize,
    title: String,
}

fn atx(line: &str) -> Option<(usize, String)> {
    let t = line.trim_start();
    // More than 3 spaces of indentation is a code block, not a heading.
    if line.len() - t.len() > 3 {
        return None;
    }
    let level = t.bytes().take_while(|b| *b == b'#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let rest = &t[level..];
    if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('\t')) {
        return None;
    }
    // Optional closing `#`s.
    let title = rest.trim().trim_end_matches('#').trim_end();
    Some((level, title.to_string()))
}

fn setext_level(line: &str) -> Option<usize> {
    let t = line.trim();
    if t.len() < 2 || line.len() - line.trim_start().len() > 3 {
        return None;
    }
    if t.bytes().all(|b| b == b'=') {
        Some(1)
    } else if t.bytes().all(|b| b == b'-') {
        Some(2)
    } else {
        None
    }
}

fn is_fence(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("```") || t.starts_with("~~~")
}

fn headings(lines: &[&str]) -> Vec<Heading> {
    let mut out = Vec::new();
    let mut in_fence = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if is_fence(line) {
            in_fence = !in_fence;
            i += 1;
            continue;
        }
        if in_fence {
            i += 1;
            continue;
        }
        if let Some((level, title)) = atx(line) {
            out.push(Heading {
                line: i,
                span: 1,
                level,
                title,
            });
            i += 1;
            continue;
        }
        let paragraph_line = !line.trim().is_empty()
            && atx(line).is_none()
            && setext_level(line).is_none()
            && !line.trim_start().starts_with(['-', '*', '+', '>']);
        if paragraph_line {
            // Only a paragraph of one line counts: a list item or a text block followed by
            // `---` is not a version heading we could name anyway.
            let prev_blank = i == 0 || lines[i - 1].trim().is_empty();
            if let Some(level) = lines.get(i + 1).and_then(|l| setext_level(l)) {
                if prev_blank {
                    out.push(Heading {
                        line: i,
                        span: 2,
                        level,
                        title: line.trim().to_string(),
                    });
                    i += 2;
                    continue;
                }
            }
        }
        i += 1;
    }
    out
}

/// The version a heading names, if any: the first word that parses as semver once stripped of
/// brackets, a `v`, and a `PACKAGE-` / `PACKAGE/` prefix.
pub fn heading_version(title: &str) -> Option<Version> {
    let words =
        title.split(|c: char| c.is_whitespace() || matches!(c, '[' | ']' | '(' | ')' | ','));
    for word in words {
        let word = word.trim_matches(|c: char| matches!(c, '*' | '_' | '`' | ':'));
        if word.is_empty() {
            continue;
        }
        let mut candidates = vec![word];
        if let Some((_, last)) = word.rsplit_once('/') {
            candidates.push(last);
        }
        if let Some(i) = word.rfind("-v") {
            candidates.push(&word[i + 2..]);
        }
        for c in candidates {
            let c = c
                .strip_prefix('v')
                .or_else(|| c.strip_prefix('V'))
                .unwrap_or(c);
            if !c.starts_with(|ch: char| ch.is_ascii_digit()) {
                continue;
            }
            if let Ok(v) = Version::parse(c) {
                return Some(v);
            }
        }
    }
    None
}

fn is_unreleased(title: &str) -> bool {
    title
        .split(|c: char| !c.is_ascii_alphabetic())
        .any(|w| w.eq_ignore_ascii_case("unreleased"))
}

/// Every heading that names a version or "Unreleased", with its body.
pub fn sections(text: &str) -> Vec<Section> {
    let text = text.replace("\r\n", "\n");
    let lines: Vec<&str> = text.lines().collect();
    let hs = headings(&lines);
    let mut out = Vec::new();
    for (n, h) in hs.iter().enumerate() {
        let version = heading_version(&h.title);
        let unreleased = version.is_none() && is_unreleased(&h.title);
        if version.is_none() && !unreleased {
            continue;
        }
        let end = hs[n + 1..]
            .iter()
            .find(|next| next.level <= h.level)
            .map(|next| next.line)
            .unwrap_or(lines.len());
        let body = lines[h.line + h.span..end].join("\n");
        out.push(Section {
            title: h.title.clone(),
            level: h.level,
            version,
            unreleased,
            body: body.trim().to_string(),
        });
    }
    out
}

/// The section for `version`: an exact match; for a prerelease without one, the plain version's
/// section (1.2.0 for 1.2.0-rc.1), then the "Unreleased" section.
pub fn find_section(text: &str, version: &Version) -> Option<Section> {
    let all = sections(text);
    let same = |a: &Version, b: &Version| {
        a.major == b.major && a.minor == b.minor && a.patch == b.patch && a.pre == b.pre
    };
    if let Some(s) = all
        .iter()
        .find(|s| s.version.as_ref().is_some_and(|v| same(v, version)))
    {
        return Some(s.clone());
    }
    if version.pre.is_empty() {
        return None;
    }
    let plain = Version::new(version.major, version.minor, version.patch);
    all.iter()
        .find(|s| s.version.as_ref().is_some_and(|v| same(v, &plain)))
        .or_else(|| all.iter().find(|s| s.unreleased))
        .cloned()
}

/// What the manifest's `announcement_changelog` and `announcement_github_body` say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseNotes {
    pub changelog: Option<String>,
    pub github_body: Option<String>,
}

/// Release notes for `plan` from the changelog text (if the project has one). Covers the whole
/// Universe of the announcement, not only the selected artifacts, so every command that renders
/// the same announcement agrees on the body.
pub fn release_notes(plan: &Plan, changelog_text: Option<&str>) -> ReleaseNotes {
    let changelog = changelog_text
        .and_then(|t| find_section(t, &plan.announcement.version))
        .map(|s| s.body)
        .filter(|b| !b.is_empty());
    let body = github_body(plan, changelog.as_deref());
    ReleaseNotes {
        changelog,
        github_body: (!body.is_empty()).then_some(body),
    }
}

/// A friendlier name for well-known targets; the triple otherwise.
pub fn platform_name(target: &str) -> String {
    let name = match target {
        "aarch64-apple-darwin" => "Apple Silicon macOS",
        "x86_64-apple-darwin" => "Intel macOS",
        "x86_64-pc-windows-msvc" => "x64 Windows",
        "i686-pc-windows-msvc" => "x86 Windows",
        "aarch64-pc-windows-msvc" => "ARM64 Windows",
        "x86_64-unknown-linux-gnu" => "x64 Linux",
        "x86_64-unknown-linux-musl" => "x64 MUSL Linux",
        "aarch64-unknown-linux-gnu" => "ARM64 Linux",
        "aarch64-unknown-linux-musl" => "ARM64 MUSL Linux",
        _ => return target.to_string(),
    };
    format!("{name} ({target})")
}

fn github_body(plan: &Plan, changelog: Option<&str>) -> String {
    let mut out = String::new();
    if let Some(c) = changelog {
        out.push_str(c);
        out.push_str("\n\n");
    }
    let tag = &plan.announcement.tag;
    // The download base of an artifact: its App's release's (the first, if an App had several),
    // or the first release's for announcement-wide ones; found once, not per artifact.
    let mut releases = BTreeMap::new();
    for r in &plan.releases {
        releases.entry(r.app.as_str()).or_insert(r);
    }
    let bases: BTreeMap<&str, String> = releases
        .iter()
        .filter_map(|(app, r)| Some((*app, r.github.as_ref()?.download_url(tag))))
        .collect();
    let first_base = plan
        .releases
        .first()
        .and_then(|r| Some(r.github.as_ref()?.download_url(tag)));
    let base = |app: Option<&str>| -> Option<String> {
        match app {
            Some(a) => bases.get(a).cloned(),
            None => first_base.clone(),
        }
    };
    let link = |app: Option<&str>, name: &str, text: &str| match base(app) {
        Some(b) => format!("[{text}]({b}/{name})"),
        None => text.to_string(),
    };

    let mut install = String::new();
    for a in plan.artifacts.values() {
        if let ArtifactKind::Installer {
            installer,
            download_url,
            ..
        } = &a.kind
        {
            let app = a.app.as_deref().unwrap_or_default();
            // `display = false` keeps an App out of this section; `display-name` renames it.
            let release = releases.get(app);
            if release.is_some_and(|r| !r.display) {
                continue;
            }
            let shown = release
                .and_then(|r| r.display_name.as_deref())
                .unwrap_or(app);
            let (hint, desc) = crate::manifest::install_hint(*installer, a, download_url, plan);
            let lang = installer.hint_language();
            install.push_str(&format!(
                "### {desc} ({shown})\n\n```{lang}\n{hint}\n```\n\n"
            ));
        }
    }
    if !install.is_empty() {
        out.push_str("## Install\n\n");
        out.push_str(&install);
    }

    let mut rows = String::new();
    for a in plan.artifacts.values() {
        let (platform, checksum) = match &a.kind {
            ArtifactKind::Archive {
                target, checksum, ..
            } => (
                platform_name(target),
                checksum
                    .as_deref()
                    .map(|c| link(a.app.as_deref(), c, "checksum"))
                    .unwrap_or_default(),
            ),
            ArtifactKind::SourceTarball { .. } => ("source".to_string(), String::new()),
            _ => continue,
        };
        let file = link(a.app.as_deref(), &a.name, &a.name);
        rows.push_str(&format!("| {file} | {platform} | {checksum} |\n"));
    }
    if !rows.is_empty() {
        out.push_str(
            "## Download\n\n| File | Platform | Checksum |\n|------|----------|----------|\n",
        );
        out.push_str(&rows);
    }
    out.trim_end().to_string()
}

/// The changelog of the announcement: the announced package's (its directory first, then the
/// workspace root, as its auto-includes were found), or for a multi-App announcement the
/// workspace root's `CHANGELOG.md` / `RELEASES.md`.
pub fn changelog_path(ws: &Workspace, plan: &Plan) -> Option<PathBuf> {
    let ann = &plan.announcement;
    let package = ann.package.as_deref().or(match ann.apps.as_slice() {
        [one] => Some(one.as_str()),
        _ => None,
    });
    if let Some(pkg) = package.and_then(|p| ws.package(p)) {
        return pkg
            .auto_includes
            .iter()
            .find(|a| a.kind == IncludeKind::Changelog)
            .map(|a| ws.root.join(&a.path));
    }
    ["CHANGELOG.md", "RELEASES.md"]
        .iter()
        .map(|n| ws.root.join(n))
        .find(|p| p.is_file())
}

/// Reads the changelog (if any) and fills the release-notes fields of `manifest`.
pub fn fill_release_notes(
    ws: &Workspace,
    plan: &Plan,
    manifest: &mut DistManifest,
) -> Result<(), ChangelogError> {
    let text = match changelog_path(ws, plan) {
        Some(path) => {
            Some(
                std::fs::read_to_string(&path).map_err(|source| ChangelogError::Read {
                    path: crate::workspace::relative(&ws.root, &path),
                    source,
                })?,
            )
        }
        None => None,
    };
    let notes = release_notes(plan, text.as_deref());
    manifest.announcement_changelog = notes.changelog;
    manifest.announcement_github_body = notes.github_body;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn every_heading_style_finds_its_section() {
        let cases: &[(&str, &str)] = &[
            ("## 1.2.0\n\n- fixed it\n\n## 1.1.0\n\n- old\n", "- fixed it"),
            ("## v1.2.0\n- fixed it\n## v1.1.0\n- old\n", "- fixed it"),
            (
                "# Changelog\n\n## [1.2.0] - 2024-01-01\n### Fixed\n- fixed it\n\n## [1.1.0] - 2023-01-01\n- old\n",
                "### Fixed\n- fixed it",
            ),
            ("# 1.2.0\n\nfixed it\n\n# 1.1.0\n\nold\n", "fixed it"),
            ("1.2.0\n-----\n\nfixed it\n\n1.1.0\n-----\n\nold\n", "fixed it"),
            ("v1.2.0\n======\nfixed it\n\nv1.1.0\n======\nold\n", "fixed it"),
            ("## Version 1.2.0\nfixed it\n## Version 1.1.0\nold\n", "fixed it"),
            ("## Release v1.2.0 (2024-01-01)\nfixed it\n## Release v1.1.0\nold\n", "fixed it"),
            ("## my-app-v1.2.0\nfixed it\n## my-app-v1.1.0\nold\n", "fixed it"),
            ("## my-app/1.2.0\nfixed it\n", "fixed it"),
            ("## **1.2.0**\nfixed it\n", "fixed it"),
            ("## 1.2.0 ##\nfixed it\n## 1.1.0 ##\nold\n", "fixed it"),
            ("## 1.2.0\r\n\r\nfixed it\r\n\r\n## 1.1.0\r\nold\r\n", "fixed it"),
        ];
        for (text, want) in cases {
            let s = find_section(text, &v("1.2.0"))
                .unwrap_or_else(|| panic!("no section for 1.2.0 in {text:?}"));
            assert_eq!(s.body, *want, "in {text:?}");
        }
    }

    #[test]
    fn subsections_stay_inside_and_code_blocks_are_not_headings() {
        let text = "# Changelog\n\n## 1.2.0\n\n### Added\n\n```\n# 1.1.0 not a heading\n```\n\n### Fixed\n- x\n\n## 1.1.0\n- old\n";
        let s = find_section(text, &v("1.2.0")).unwrap();
        assert_eq!(
            s.body,
            "### Added\n\n```\n# 1.1.0 not a heading\n```\n\n### Fixed\n- x"
        );
        let old = find_section(text, &v("1.1.0")).unwrap();
        assert_eq!(old.body, "- old");
    }

    #[test]
    fn prerelease_falls_back_to_plain_version_then_unreleased() {
        let text = "## Unreleased\n- soon\n## 1.2.0\n- plain\n## 1.2.0-rc.2\n- rc2\n";
        assert_eq!(find_section(text, &v("1.2.0-rc.2")).unwrap().body, "- rc2");
        assert_eq!(
            find_section(text, &v("1.2.0-rc.1")).unwrap().body,
            "- plain"
        );
        assert_eq!(
            find_section(text, &v("1.3.0-alpha.1")).unwrap().body,
            "- soon"
        );
        let bracketed = "## [Unreleased]\n- soon\n## [1.0.0]\n- one\n";
        assert_eq!(
            find_section(bracketed, &v("2.0.0-beta.1")).unwrap().body,
            "- soon"
        );
        // A stable release never takes the Unreleased notes.
        assert_eq!(find_section(text, &v("1.3.0")), None);
    }

    #[test]
    fn missing_version_is_none_and_lists_and_rules_are_not_headings() {
        assert_eq!(find_section("## 1.1.0\n- old\n", &v("1.2.0")), None);
        let text = "## 1.2.0\n\nsome text\n- 1.1.0\n---\n\nmore\n";
        assert_eq!(
            find_section(text, &v("1.2.0")).unwrap().body,
            "some text\n- 1.1.0\n---\n\nmore"
        );
        assert_eq!(heading_version("Changelog"), None);
        assert_eq!(
            heading_version("[1.0.0-rc.1] - 2024"),
            Some(v("1.0.0-rc.1"))
        );
    }
}
