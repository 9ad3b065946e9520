//! The top-level error: one variant per stage, each rendered once by the binary.

use crate::announce::AnnounceError;
use crate::config::ConfigError;
use crate::graph::GraphError;
use crate::plan::PlanError;
use crate::toolchain::ToolchainError;
use crate::workspace::WorkspaceError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Toolchain(#[from] ToolchainError),
    #[error(transparent)]
    Announce(#[from] AnnounceError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error(transparent)]
    Store(#[from] dist_store::StoreError),
    #[error(transparent)]
    Changelog(#[from] crate::changelog::ChangelogError),
    #[error(transparent)]
    Ci(#[from] crate::ci::CiError),
    #[error(transparent)]
    Init(#[from] crate::ops::init::InitError),
    #[error(transparent)]
    Compare(#[from] crate::ops::compare::CompareError),
    #[error(transparent)]
    Execute(#[from] crate::execute::ExecuteError),
    #[error(transparent)]
    StoreCmd(#[from] crate::ops::store::StoreCmdError),
    #[error(transparent)]
    Wix(#[from] crate::wix::WixError),
    #[error(transparent)]
    Explain(#[from] crate::ops::explain::ExplainError),
    #[error(transparent)]
    Remote(#[from] dist_store::remote::RemoteError),
    #[error(transparent)]
    RemoteSetup(#[from] crate::ops::remote::RemoteSetupError),
    #[error(transparent)]
    Provenance(#[from] crate::provenance::ProvenanceError),
    #[error(transparent)]
    Verify(#[from] crate::ops::verify::VerifyError),
}

impl Error {
    /// 1 for every error the user can act on; usage errors (2) are clap's.
    pub fn exit_code(&self) -> i32 {
        1
    }
}
