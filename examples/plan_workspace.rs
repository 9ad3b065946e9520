//! Using cargo-dist as a library: plan a workspace and print each artifact's recipe key,
//! without building anything or touching a store.
//!
//! cargo run --example plan_workspace -- examples/hello-world/Cargo.toml

#![allow(clippy::result_large_err)]

use cargo_dist::announce;
use cargo_dist::ops::plan_announcement;
use cargo_dist::ops::{load, GlobalOpts};
use cargo_dist::plan::{ArtifactMode, PlanRequest};
use cargo_dist::sources::SourceHasher;

fn main() -> Result<(), cargo_dist::Error> {
    let manifest = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "examples/hello-world/Cargo.toml".into());
    let opts = GlobalOpts {
        manifest_path: Some(manifest.into()),
        ..Default::default()
    };
    let loaded = load(&opts)?;
    let ann = announce::announce(&loaded.candidates, None)?;
    let req = PlanRequest {
        mode: ArtifactMode::All,
        targets: &[],
        // Only host mode reads the host triple: a plan of every target need not wait for it.
        host: None,
    };
    let (plan, graph) = plan_announcement(&loaded, &ann, &req, None, &mut SourceHasher::default())?;
    println!("{} announces {}", ann.tag, ann.apps.join(", "));
    for name in plan.artifacts.keys() {
        println!("{}  {name}", graph.artifacts[name].key.short());
    }
    Ok(())
}
