//! What `verify` takes of a signed release: no verifier holds the project's signing key, so its
//! rebuild signs as the release was signed (the signers read from the release's manifest, so
//! every key is the release's) and takes the release's signed files in place of signing, each
//! once its payload is the rebuilt unsigned file ([`crate::signing::same_payload`]).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;

use dist_recipes::recipe::Signer;

use super::compare::archive_format;
use crate::manifest::DistManifest;
use crate::signing::Adopted;

/// The signers a release's recorded inputs name (`... > signer:method` and its siblings), one
/// per method; `None` when nothing in it is signed.
pub fn signers(manifest: &DistManifest) -> Option<(Option<Signer>, Option<Signer>)> {
    let mut found: BTreeMap<String, Signer> = BTreeMap::new();
    for art in manifest.artifacts.values() {
        let Some(recipe) = &art.recipe else { continue };
        for (name, method) in &recipe.inputs {
            let Some(prefix) = name.strip_suffix("signer:method") else {
                continue;
            };
            let get = |k: &str| recipe.inputs.get(&format!("{prefix}signer:{k}")).cloned();
            let options = recipe
                .inputs
                .iter()
                .filter_map(|(k, v)| {
                    let opt = k.strip_prefix(prefix)?.strip_prefix("signer:")?;
                    let own = ["method", "certificate", "tool"].contains(&opt);
                    (!own && !opt.contains(" > ")).then(|| (opt.to_string(), v.clone()))
                })
                .collect();
            let signer = Signer {
                method: method.clone(),
                certificate: get("certificate").unwrap_or_default(),
                tool: get("tool").unwrap_or_default(),
                options,
            };
            found.entry(method.clone()).or_insert(signer);
        }
    }
    if found.is_empty() {
        return None;
    }
    Some((found.remove("authenticode"), found.remove("apple")))
}

/// Puts the release's signed files where the rebuild's signing recipes look for them
/// (`dir/<sign key>/<name>`): a file signed whole (an MSI, the PowerShell installer, an
/// updater) under its own key; each signed member of an archive under the key its archive
/// names for it (`item:PATH` = `recipe KEY output FILE`).
pub fn stage(
    manifest: &DistManifest,
    files: &BTreeMap<String, &Path>,
    dir: &Path,
) -> std::io::Result<()> {
    // The manifest comes from a server: only a recipe key and a plain file name make a path.
    let put = |key: &str, name: &str, bytes: &[u8]| -> std::io::Result<()> {
        if dist_store::RecipeKey::from_hex(key).is_err() || !super::verify::plain_name(name) {
            return Ok(());
        }
        let at = dir.join(key);
        std::fs::create_dir_all(&at)?;
        std::fs::write(at.join(name), bytes)
    };
    for (name, art) in &manifest.artifacts {
        let (Some(recipe), Some(file)) = (&art.recipe, files.get(name)) else {
            continue;
        };
        if recipe.inputs.contains_key("signer:method") {
            put(&recipe.key, name, &std::fs::read(file)?)?;
            continue;
        }
        // Signed members: `item:PATH` whose recipe is a signing one.
        let wanted: BTreeMap<&str, (&str, &str)> = recipe
            .inputs
            .iter()
            .filter_map(|(k, v)| {
                let path = k.strip_prefix("item:")?;
                let signed = recipe.inputs.contains_key(&format!("{k} > signer:method"));
                let (key, output) = v.strip_prefix("recipe ")?.split_once(" output ")?;
                signed.then_some((path, (key, output)))
            })
            .collect();
        let Some(format) = archive_format(name).filter(|_| !wanted.is_empty()) else {
            continue;
        };
        let taken: RefCell<Vec<(String, String, Vec<u8>)>> = RefCell::new(Vec::new());
        let take = |member: &str, bytes: &[u8]| {
            let hit = wanted
                .iter()
                .find(|(path, _)| member == **path || member.ends_with(&format!("/{path}")));
            if let Some((_, (key, output))) = hit {
                let entry = (key.to_string(), output.to_string(), bytes.to_vec());
                taken.borrow_mut().push(entry);
            }
            None
        };
        // An archive that does not read is judged by `verify` itself; nothing to take.
        if dist_recipes::archive::read_members_filtered(format, file, &take).is_ok() {
            for (key, output, bytes) in taken.into_inner() {
                put(&key, &output, &bytes)?;
            }
        }
    }
    Ok(())
}

/// The adoption for a release, if anything in it is signed.
pub fn adoption(
    manifest: &DistManifest,
    files: &BTreeMap<String, &Path>,
    dir: &Path,
) -> std::io::Result<Option<Adopted>> {
    let Some((windows, apple)) = signers(manifest) else {
        return Ok(None);
    };
    stage(manifest, files, dir)?;
    Ok(Some(Adopted {
        windows,
        apple,
        dir: dir.to_path_buf(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(key: &str, name: &str) -> DistManifest {
        let json = serde_json::json!({
            "dist_version": "0.1.0",
            "announcement_tag": "v1.0.0",
            "announcement_title": "v1.0.0",
            "artifacts": { name: {
                "name": name,
                "kind": "installer",
                "recipe": { "key": key, "cached": false, "inputs": {
                    "signer:method": "authenticode",
                    "signer:certificate": "ab",
                    "signer:tool": "osslsigncode 2.9",
                    "signer:timestamp-url": "http://ts",
                    "recipe:subject > signer:method": "nested, not an option"
                } }
            } }
        });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn the_signer_is_read_from_the_recorded_inputs() {
        let (windows, apple) = signers(&manifest(&"a".repeat(64), "app.ps1")).unwrap();
        let w = windows.unwrap();
        assert_eq!(
            (w.method.as_str(), w.certificate.as_str()),
            ("authenticode", "ab")
        );
        assert_eq!(w.tool, "osslsigncode 2.9");
        assert_eq!(
            w.options,
            BTreeMap::from([("timestamp-url".to_string(), "http://ts".to_string())])
        );
        assert!(apple.is_none());
    }

    /// The manifest comes from a server: a key or name that is not one cannot place a file
    /// outside the directory.
    #[test]
    fn only_keys_and_plain_names_make_paths() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("signed");
        std::fs::create_dir(&dir).unwrap();
        let file = root.path().join("release.ps1");
        std::fs::write(&file, "signed").unwrap();
        for (key, name) in [("../escaped", "app.ps1"), (&*"a".repeat(64), "..")] {
            let files = BTreeMap::from([(name.to_string(), file.as_path())]);
            stage(&manifest(key, name), &files, &dir).unwrap();
        }
        assert!(!root.path().join("escaped").exists());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        let good = "b".repeat(64);
        let files = BTreeMap::from([("app.ps1".to_string(), file.as_path())]);
        stage(&manifest(&good, "app.ps1"), &files, &dir).unwrap();
        assert_eq!(
            std::fs::read(dir.join(&good).join("app.ps1")).unwrap(),
            b"signed"
        );
    }
}
