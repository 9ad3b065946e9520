//! SLSA v1 provenance of a release: an in-toto Statement v1 naming every release file (by
//! sha256 and blake3) and what the build was made from (tag, commit, config, toolchain, crate
//! sources, recipe keys), in a DSSE envelope signed with ed25519 when a key is configured.
//!
//! The statement holds no time, host or path: the same release gives the same bytes wherever
//! it is built, and ed25519 signatures are deterministic, so the signed file is too.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use dist_store::remote::{parse_public_key, parse_signing_key};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};

/// The release file the statement is written to (one envelope per line).
pub const FILE_NAME: &str = "dist-provenance.intoto.jsonl";
/// The environment variable holding the signing key (hex seed, as `store keygen` prints).
pub const SIGNING_KEY_VAR: &str = "CARGO_DIST_PROVENANCE_SIGNING_KEY";
/// Or the file holding it.
pub const SIGNING_KEY_FILE_VAR: &str = "CARGO_DIST_PROVENANCE_SIGNING_KEY_FILE";
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
const PREDICATE_TYPE: &str = "https://slsa.dev/provenance/v1";
/// What "build" means here: the hermetic recipe graph, keyed as the README's table says.
const BUILD_TYPE: &str = "urn:cargo-dist:hermetic-release:v1";

#[derive(Debug, thiserror::Error)]
pub enum ProvenanceError {
    #[error("{FILE_NAME} is not a DSSE envelope: {0}")]
    NotEnvelope(String),
    #[error("{FILE_NAME}: the payload type is {0:?}, not {PAYLOAD_TYPE:?}")]
    PayloadType(String),
    #[error(
        "{FILE_NAME}: the payload is not an in-toto Statement v1 with SLSA provenance v1: {0}"
    )]
    NotStatement(String),
    #[error("{FILE_NAME}: the signature by key {keyid} does not verify: the statement was changed after signing")]
    BadSignature { keyid: String },
    #[error("{SIGNING_KEY_VAR}: {0}\n  make a key pair with `cargo dist store keygen`")]
    Key(String),
    #[error("{SIGNING_KEY_FILE_VAR}: reading {path}: {source}")]
    KeyFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    #[serde(rename = "_type")]
    pub statement_type: String,
    pub subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    pub predicate: Predicate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub name: String,
    /// `sha256` and `blake3`, lowercase hex.
    pub digest: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Predicate {
    pub build_definition: BuildDefinition,
    pub run_details: RunDetails,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildDefinition {
    pub build_type: String,
    pub external_parameters: ExternalParameters,
    pub internal_parameters: InternalParameters,
    pub resolved_dependencies: Vec<Resource>,
}

/// What a user chose: the tag of the source and the config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalParameters {
    pub tag: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// The commit built (`git rev-parse HEAD`), when the workspace is in git.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The config files, workspace-relative, by sha256.
    pub config: BTreeMap<String, String>,
}

/// What the tool derived: every artifact's recipe key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InternalParameters {
    pub dist_version: String,
    pub recipe_keys: BTreeMap<String, String>,
}

/// A SLSA ResourceDescriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub uri: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub digest: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunDetails {
    pub builder: Builder,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Builder {
    pub id: String,
}

/// What a statement is made from (see [`statement`]).
pub struct Facts<'a> {
    pub tag: &'a str,
    pub repository: Option<&'a str>,
    pub commit: Option<&'a str>,
    pub config: BTreeMap<String, String>,
    /// `rustc -vV`'s fields.
    pub toolchain: &'a BTreeMap<String, String>,
    pub crates: Option<&'a dist_recipes::recipe::CrateSources>,
    pub recipe_keys: BTreeMap<String, String>,
    pub subjects: Vec<Subject>,
}

pub fn statement(f: Facts<'_>) -> Statement {
    let mut deps = Vec::new();
    if let (Some(repo), Some(commit)) = (f.repository, f.commit) {
        deps.push(Resource {
            name: Some("source".into()),
            uri: format!("git+{repo}@refs/tags/{}", f.tag),
            digest: BTreeMap::from([("gitCommit".into(), commit.into())]),
        });
    }
    let release = f.toolchain.get("release").cloned().unwrap_or_default();
    deps.push(Resource {
        name: Some("rustc".into()),
        uri: format!("pkg:generic/rustc@{release}"),
        digest: f
            .toolchain
            .get("commit-hash")
            .filter(|h| h.len() == 40)
            .map(|h| BTreeMap::from([("gitCommit".into(), h.clone())]))
            .unwrap_or_default(),
    });
    if let Some(crates) = f.crates {
        for c in crates.crates.values() {
            deps.push(Resource {
                name: None,
                uri: format!("pkg:cargo/{}@{}", c.name, c.version),
                digest: BTreeMap::from([("sha256".into(), c.checksum.clone())]),
            });
        }
        for (id, locked) in &crates.git {
            // `git+URL#COMMIT`
            let (url, commit) = locked.split_once('#').unwrap_or((locked, ""));
            deps.push(Resource {
                name: Some(id.clone()),
                uri: url.to_string(),
                digest: BTreeMap::from([("gitCommit".into(), commit.to_string())]),
            });
        }
    }
    Statement {
        statement_type: STATEMENT_TYPE.into(),
        subject: f.subjects,
        predicate_type: PREDICATE_TYPE.into(),
        predicate: Predicate {
            build_definition: BuildDefinition {
                build_type: BUILD_TYPE.into(),
                external_parameters: ExternalParameters {
                    tag: f.tag.into(),
                    repository: f.repository.map(str::to_string),
                    commit: f.commit.map(str::to_string),
                    config: f.config,
                },
                internal_parameters: InternalParameters {
                    dist_version: env!("CARGO_PKG_VERSION").into(),
                    recipe_keys: f.recipe_keys,
                },
                resolved_dependencies: deps,
            },
            run_details: RunDetails {
                builder: Builder {
                    id: format!("urn:cargo-dist:{}", env!("CARGO_PKG_VERSION")),
                },
            },
        },
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Envelope {
    payload: String,
    #[serde(rename = "payloadType")]
    payload_type: String,
    signatures: Vec<EnvelopeSignature>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct EnvelopeSignature {
    /// The signer's ed25519 public key, hex.
    #[serde(default)]
    keyid: String,
    sig: String,
}

/// DSSE's pre-authentication encoding: what is signed.
fn pae(payload_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// The signing key from `value` (the environment variable's), else from the file `file`
/// names; `None` when neither is set or the value is blank (a fork's pull request sees an empty
/// secret).
pub fn signing_key(
    value: Option<&str>,
    file: Option<&str>,
) -> Result<Option<SigningKey>, ProvenanceError> {
    let text = match (value.map(str::trim).filter(|v| !v.is_empty()), file) {
        (Some(v), _) => v.to_string(),
        (None, Some(path)) => {
            std::fs::read_to_string(path).map_err(|source| ProvenanceError::KeyFile {
                path: path.to_string(),
                source,
            })?
        }
        (None, None) => return Ok(None),
    };
    parse_signing_key(&text)
        .map(Some)
        .map_err(ProvenanceError::Key)
}

/// The file's text: the statement in one DSSE envelope, one line.
pub fn seal(statement: &Statement, key: Option<&SigningKey>) -> String {
    let body = serde_json::to_vec(statement).expect("statement serialises");
    let signatures = key
        .map(|k| EnvelopeSignature {
            keyid: hex::encode(k.verifying_key().as_bytes()),
            sig: BASE64.encode(k.sign(&pae(PAYLOAD_TYPE, &body)).to_bytes()),
        })
        .into_iter()
        .collect();
    let env = Envelope {
        payload: BASE64.encode(&body),
        payload_type: PAYLOAD_TYPE.into(),
        signatures,
    };
    serde_json::to_string(&env).expect("envelope serialises") + "\n"
}

/// Who signed an opened statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state", content = "keys")]
pub enum Signers {
    /// Signed by these trusted keys (their signatures verify).
    Trusted(Vec<String>),
    /// Signed, but by none of the trusted keys.
    Untrusted(Vec<String>),
    Unsigned,
}

/// Reads the first envelope of `text`, checks every signature made by a trusted key, and
/// returns the statement with who signed it. A trusted key's signature that does not verify
/// is an error; other keys' signatures cannot be checked and are only named.
pub fn open(text: &str, trusted: &[VerifyingKey]) -> Result<(Statement, Signers), ProvenanceError> {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let env: Envelope =
        serde_json::from_str(line).map_err(|e| ProvenanceError::NotEnvelope(e.to_string()))?;
    if env.payload_type != PAYLOAD_TYPE {
        return Err(ProvenanceError::PayloadType(env.payload_type));
    }
    let body = BASE64
        .decode(env.payload.as_bytes())
        .map_err(|e| ProvenanceError::NotEnvelope(format!("payload: {e}")))?;
    let statement: Statement =
        serde_json::from_slice(&body).map_err(|e| ProvenanceError::NotStatement(e.to_string()))?;
    if statement.statement_type != STATEMENT_TYPE || statement.predicate_type != PREDICATE_TYPE {
        return Err(ProvenanceError::NotStatement(format!(
            "_type {:?}, predicateType {:?}",
            statement.statement_type, statement.predicate_type
        )));
    }
    let signed = pae(&env.payload_type, &body);
    let (mut good, mut others) = (Vec::new(), Vec::new());
    for s in &env.signatures {
        let key = parse_public_key(&s.keyid)
            .ok()
            .filter(|k| trusted.contains(k));
        let Some(key) = key else {
            others.push(s.keyid.clone());
            continue;
        };
        let sig = BASE64
            .decode(s.sig.as_bytes())
            .ok()
            .and_then(|b| Signature::from_slice(&b).ok());
        match sig.map(|sig| key.verify(&signed, &sig)) {
            Some(Ok(())) => good.push(s.keyid.clone()),
            _ => {
                return Err(ProvenanceError::BadSignature {
                    keyid: s.keyid.clone(),
                })
            }
        }
    }
    let signers = match (good.is_empty(), others.is_empty()) {
        (false, _) => Signers::Trusted(good),
        (true, false) => Signers::Untrusted(others),
        (true, true) => Signers::Unsigned,
    };
    Ok((statement, signers))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Statement {
        let toolchain = BTreeMap::from([("release".to_string(), "1.95.0".to_string())]);
        statement(Facts {
            tag: "v1.0.0",
            repository: Some("https://github.com/o/r"),
            commit: Some("0123456789012345678901234567890123456789"),
            config: BTreeMap::new(),
            toolchain: &toolchain,
            crates: None,
            recipe_keys: BTreeMap::new(),
            subjects: vec![Subject {
                name: "app.tar.xz".into(),
                digest: BTreeMap::from([("sha256".into(), "ab".repeat(32))]),
            }],
        })
    }

    #[test]
    fn a_sealed_statement_opens_with_its_signer_trusted() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let text = seal(&sample(), Some(&key));
        assert_eq!(text, seal(&sample(), Some(&key)), "deterministic");
        let (st, signers) = open(&text, &[key.verifying_key()]).unwrap();
        assert_eq!(st, sample());
        assert_eq!(
            signers,
            Signers::Trusted(vec![hex::encode(key.verifying_key().as_bytes())])
        );
        let other = SigningKey::from_bytes(&[8; 32]).verifying_key();
        assert!(matches!(
            open(&text, &[other]).unwrap().1,
            Signers::Untrusted(_)
        ));
        assert_eq!(
            open(&seal(&sample(), None), &[other]).unwrap().1,
            Signers::Unsigned
        );
    }

    #[test]
    fn a_changed_payload_fails_its_trusted_signature() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let text = seal(&sample(), Some(&key));
        let mut env: Envelope = serde_json::from_str(text.trim()).unwrap();
        let mut changed = sample();
        changed.subject[0]
            .digest
            .insert("sha256".into(), "cd".repeat(32));
        env.payload = BASE64.encode(serde_json::to_vec(&changed).unwrap());
        let text = serde_json::to_string(&env).unwrap();
        assert!(matches!(
            open(&text, &[key.verifying_key()]),
            Err(ProvenanceError::BadSignature { .. })
        ));
    }
}
