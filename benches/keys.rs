//! Recipe-key computation and source hashing, measured through the library (no process spawns
//! besides the one `cargo metadata`): `cargo bench --bench keys`. Prints figures; asserts nothing.

use std::path::Path;
use std::time::Instant;

use cargo_dist::announce;
use cargo_dist::ops::plan_announcement;
use cargo_dist::ops::{load, GlobalOpts};
use cargo_dist::plan::{ArtifactMode, PlanRequest};
use cargo_dist::sources::SourceHasher;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn workspace(dir: &Path, apps: usize, big_bytes: usize) {
    let members: Vec<String> = (0..apps).map(|i| format!("app{i:03}")).collect();
    write(
        &dir.join("Cargo.toml"),
        &format!(
            "[workspace]\nmembers = [{}]\nresolver = \"2\"\n\n[workspace.metadata.dist]\ntargets = [\"x86_64-unknown-linux-gnu\", \"aarch64-apple-darwin\", \"x86_64-pc-windows-msvc\"]\ninstallers = [\"shell\", \"powershell\"]\n",
            members.iter().map(|m| format!("{m:?}")).collect::<Vec<_>>().join(", ")
        ),
    );
    for m in &members {
        write(
            &dir.join(m).join("Cargo.toml"),
            &format!("[package]\nname = \"{m}\"\nversion = \"0.1.0\"\nedition = \"2021\"\nrepository = \"https://github.com/example/bench\"\n"),
        );
        write(&dir.join(m).join("src/main.rs"), "fn main() {}\n");
        write(&dir.join(m).join("README.md"), "# app\n");
    }
    // A large data tree inside the first app, for hashing throughput.
    let mut seed = 0x9e3779b97f4a7c15u64;
    let mut written = 0;
    let mut i = 0;
    while written < big_bytes {
        let size = [4 << 10, 64 << 10, 1 << 20, 8 << 20][i % 4].min(big_bytes - written);
        let bytes: Vec<u8> = (0..size)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        write(&dir.join(&members[0]).join(format!("data/{i:05}.bin")), "");
        std::fs::write(
            dir.join(&members[0]).join(format!("data/{i:05}.bin")),
            bytes,
        )
        .unwrap();
        written += size;
        i += 1;
    }
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    std::env::set_var("CARGO_DIST_STORE", tmp.path().join("store"));
    for (apps, big) in [(1usize, 0usize), (200, 0), (1, 512 << 20)] {
        let dir = tmp.path().join(format!("ws-{apps}-{big}"));
        workspace(&dir, apps, big);
        let opts = GlobalOpts {
            manifest_path: Some(dir.join("Cargo.toml")),
            ..Default::default()
        };
        let t = Instant::now();
        let loaded = load(&opts).unwrap();
        // Loading includes `rustc -vV`, as it did before the answer was waited for lazily.
        loaded.rustc.get().unwrap();
        let load_ms = t.elapsed().as_secs_f64() * 1e3;
        let ann = announce::announce(&loaded.candidates, None).unwrap();
        let req = PlanRequest {
            mode: ArtifactMode::All,
            targets: &[],
            host: None,
        };
        let runs = 5;
        let mut best = f64::MAX;
        let mut recipes = 0;
        let mut bytes = 0;
        for _ in 0..runs {
            let mut hasher = SourceHasher::default();
            let t = Instant::now();
            let (_, graph) = plan_announcement(&loaded, &ann, &req, None, &mut hasher).unwrap();
            best = best.min(t.elapsed().as_secs_f64());
            recipes = graph.builds.len() + graph.artifacts.len();
            bytes = hasher.bytes_hashed;
        }
        let label = if big > 0 {
            format!("{apps} app + {} MiB of sources", big >> 20)
        } else {
            format!("{apps} app(s)")
        };
        println!(
            "{label:<28} load (workspace + rustc -vV) {load_ms:7.1} ms | plan + keys for {recipes:4} recipes: {:8.2} ms (best of {runs}) | hashed {:.1} MiB = {:.2} GB/s",
            best * 1e3,
            bytes as f64 / (1 << 20) as f64,
            if best > 0.0 { bytes as f64 / best / 1e9 } else { 0.0 }
        );
    }
}
