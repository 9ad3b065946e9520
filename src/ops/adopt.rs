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
    let put = |key: &str, name: &str, bytes: &[u8]| -> std::io::Result<()> {
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
