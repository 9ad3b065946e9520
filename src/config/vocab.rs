//! The config's own closed sets of words (the recipes crate has the ones its recipes use:
//! installer kinds, archive formats, checksum styles, library kinds, attestation phases). The
//! key table takes each key's allowed values from these enums, and resolving reads values
//! through them, so an accepted value is always a value the code acts on.

use dist_recipes::archive::ChecksumStyle;
use dist_recipes::vocab::Vocabulary;

/// `pr-run-mode`: what pull requests run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrRunMode {
    Skip,
    #[default]
    Plan,
    Upload,
}

impl Vocabulary for PrRunMode {
    const ALL: &'static [PrRunMode] = &[PrRunMode::Skip, PrRunMode::Plan, PrRunMode::Upload];

    fn spellings(self) -> &'static [&'static str] {
        match self {
            PrRunMode::Skip => &["skip"],
            PrRunMode::Plan => &["plan"],
            PrRunMode::Upload => &["upload"],
        }
    }
}

/// `checksum`: a style, or `"false"` for no checksums at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Checksum {
    Style(ChecksumStyle),
    Off,
}

impl Vocabulary for Checksum {
    const ALL: &'static [Checksum] = &[
        Checksum::Style(ChecksumStyle::Sha256),
        Checksum::Style(ChecksumStyle::Sha512),
        Checksum::Style(ChecksumStyle::Sha3_256),
        Checksum::Style(ChecksumStyle::Sha3_512),
        Checksum::Style(ChecksumStyle::Blake2s),
        Checksum::Style(ChecksumStyle::Blake2b),
        Checksum::Off,
    ];

    fn spellings(self) -> &'static [&'static str] {
        match self {
            Checksum::Style(style) => style.spellings(),
            Checksum::Off => &["false"],
        }
    }
}

/// `npm-installer-style` (this tool's own): how the npm package gets its binaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NpmInstallerStyle {
    /// One package whose launcher downloads the host's archive on first run.
    #[default]
    Download,
    /// A package per target holding its binaries, as `optionalDependencies` of the main one.
    Packages,
}

impl Vocabulary for NpmInstallerStyle {
    const ALL: &'static [NpmInstallerStyle] =
        &[NpmInstallerStyle::Download, NpmInstallerStyle::Packages];

    fn spellings(self) -> &'static [&'static str] {
        match self {
            NpmInstallerStyle::Download => &["download"],
            NpmInstallerStyle::Packages => &["packages"],
        }
    }
}

/// `hosting`: where the release's files are downloaded from. (cargo-dist 0.34 refuses
/// `axodotdev`, axo Releases being gone: "not a recognised host"; so does this table.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Hosting {
    Github,
    /// Files on a server of the user's (`simple-download-url`).
    Simple,
}

impl Vocabulary for Hosting {
    const ALL: &'static [Hosting] = &[Hosting::Github, Hosting::Simple];

    fn spellings(self) -> &'static [&'static str] {
        match self {
            Hosting::Github => &["github"],
            Hosting::Simple => &["simple"],
        }
    }
}

/// `ci`: the CI backends a workflow is generated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CiBackend {
    Github,
}

impl Vocabulary for CiBackend {
    const ALL: &'static [CiBackend] = &[CiBackend::Github];

    fn spellings(self) -> &'static [&'static str] {
        match self {
            CiBackend::Github => &["github"],
        }
    }
}

/// `allow-dirty` (its list form): the generated files not kept in sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Generated {
    Ci,
    Msi,
}

impl Vocabulary for Generated {
    const ALL: &'static [Generated] = &[Generated::Ci, Generated::Msi];

    fn spellings(self) -> &'static [&'static str] {
        match self {
            Generated::Ci => &["ci"],
            Generated::Msi => &["msi"],
        }
    }
}

/// `github-release`: which job creates the GitHub Release (`auto`, the default, is `host`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum GithubRelease {
    #[default]
    Host,
    Announce,
}

impl Vocabulary for GithubRelease {
    const ALL: &'static [GithubRelease] = &[GithubRelease::Host, GithubRelease::Announce];

    fn spellings(self) -> &'static [&'static str] {
        match self {
            GithubRelease::Host => &["host", "auto"],
            GithubRelease::Announce => &["announce"],
        }
    }
}

/// `ssldotcom-windows-sign`: SSL.com's environment (the signing itself is `windows-sign`'s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SslComEnvironment {
    Test,
    Prod,
}

impl Vocabulary for SslComEnvironment {
    const ALL: &'static [SslComEnvironment] = &[SslComEnvironment::Test, SslComEnvironment::Prod];

    fn spellings(self) -> &'static [&'static str] {
        match self {
            SslComEnvironment::Test => &["test"],
            SslComEnvironment::Prod => &["prod"],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dist_recipes::vocab::check;

    #[test]
    fn every_vocabulary_round_trips() {
        check::<PrRunMode>().unwrap();
        check::<Checksum>().unwrap();
        check::<Hosting>().unwrap();
        check::<CiBackend>().unwrap();
        check::<Generated>().unwrap();
        check::<GithubRelease>().unwrap();
        check::<SslComEnvironment>().unwrap();
        // Every checksum style the recipes know is a `checksum` value.
        for s in ChecksumStyle::ALL {
            assert!(Checksum::ALL.contains(&Checksum::Style(*s)), "{s:?}");
        }
    }
}
