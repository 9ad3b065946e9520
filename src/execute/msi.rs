//! `{app}-{target}.msi` with wixl (msitools). wixl stamps the current time and a random package
//! code into the summary information; both are pinned so the same inputs give the same bytes:
//! the clock is fixed with faketime, and msibuild rewrites the package code with one derived from
//! the recipe key.

use std::path::Path;
use std::process::Command;

use dist_recipes::archive::FIXED_MTIME;
use dist_recipes::installer::derived_guid;
use dist_recipes::recipe::Package;
use dist_recipes::target::Target;
use dist_store::RecipeKey;

use super::ExecuteError;

/// The tools an MSI build runs, with the Debian packages holding them.
const TOOLS: &[(&str, &str)] = &[
    ("wixl", "wixl"),
    ("msibuild", "msitools"),
    ("faketime", "faketime"),
];

fn failed(label: &str, message: String) -> ExecuteError {
    ExecuteError::Write {
        artifact: label.to_string(),
        message,
    }
}

/// Builds `m` into `out`; `dir` holds the WiX source (`files/{path}`, copied to `main.wxs`)
/// and the binaries (`bin/{bin}.exe`): wixl reads sources by relative path, which also keeps
/// the directory out of the MSI.
pub fn build(
    label: &str,
    key: &RecipeKey,
    m: &Package,
    dir: &Path,
    out: &Path,
) -> Result<(), ExecuteError> {
    for (tool, package) in TOOLS {
        if Command::new(tool).arg("--help").output().is_err() {
            return Err(failed(
                label,
                format!("MSIs are built with wixl and msibuild (msitools) and faketime, and `{tool}` is not installed: `sudo apt-get install wixl msitools faketime` (Debian/Ubuntu; package {package}); on Windows or macOS, build MSIs on a Linux machine from a store holding the Windows build (`cargo dist store export`/`import`)"),
            ));
        }
    }
    // The WiX source installs 64-bit components into ProgramFiles64Folder.
    let arch = match Target(&m.target).arch() {
        "x86_64" => "x64",
        other => {
            return Err(failed(
                label,
                format!("MSIs are built for x86_64 Windows only, not {other} (wixl has no arm64, and the WiX source installs 64-bit components); remove this target from the App's targets or \"msi\" from its installers"),
            ))
        }
    };
    // The one file an MSI reads: its WiX source (`InstallerKind::package_inputs`).
    if let Some(path) = m.files.keys().next() {
        std::fs::copy(dir.join("files").join(path), dir.join("main.wxs"))
            .map_err(|e| failed(label, format!("staging {path}: {e}")))?;
    }
    let seed = key.to_hex();
    let product_code = derived_guid(&format!("{seed} product"));
    let package_code = derived_guid(&format!("{seed} package"));
    // FIXED_MTIME, the archives' timestamp, as faketime reads an absolute time.
    const _: () = assert!(FIXED_MTIME == 315_532_800);
    // A frozen clock (libfaketime's absolute form).
    let clock = "1980-01-01 00:00:00";
    let run = |cmd: &mut Command, what: &str| -> Result<(), ExecuteError> {
        let o = cmd
            .current_dir(dir)
            .env("TZ", "UTC")
            .env("LC_ALL", "C")
            .output()
            .map_err(|e| failed(label, format!("could not run {what}: {e}")))?;
        if o.status.success() {
            Ok(())
        } else {
            Err(failed(
                label,
                format!(
                    "{what} failed ({}):\n{}",
                    o.status,
                    String::from_utf8_lossy(&o.stderr).trim_end()
                ),
            ))
        }
    };
    run(
        Command::new("faketime")
            .args(["-f", clock, "wixl", "-a", arch, "-D", "Wixl=1"])
            .arg("-D")
            .arg(format!("Version={}", m.version))
            .arg("-D")
            .arg(format!("ProductCode={product_code}"))
            .arg("-D")
            .arg(format!("PackageCode={package_code}"))
            .args(["-D", "CargoTargetBinDir=bin", "-o"])
            .arg(out)
            .arg("main.wxs"),
        "wixl",
    )?;
    run(
        Command::new("faketime")
            .args(["-f", clock, "msibuild"])
            .arg(out)
            .args(["-s", &m.app, &m.app, &format!("{arch};1033")])
            .arg(format!("{{{package_code}}}")),
        "msibuild",
    )
}
