//! Notarization of signed macOS files by Apple's notary service, over its REST API: a JSON Web
//! Token signed with an App Store Connect API key (ES256), a submission naming the upload's
//! SHA-256, the zip put into the S3 bucket the service names with the temporary credentials it
//! hands out, then the submission's status polled until Apple decides, and its log read.
//!
//! Notarization changes no byte: a bare Mach-O has no place for a ticket (Apple staples
//! tickets only to `.app` bundles, disk images and installer packages, none of which this tool
//! ships), and Gatekeeper looks a program's ticket up online by its code directory hash. So it
//! is a step of the signing recipe, after the signatures: a rejection fails the recipe, and a
//! stored signed build is never submitted again.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD as BASE64, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};

use crate::signing::{setting, SignError};

/// The App Store Connect API key's issuer (a UUID, App Store Connect > Users and Access >
/// Integrations).
pub const ISSUER: &str = "CARGO_DIST_MACOS_NOTARY_ISSUER_ID";
/// The API key's ID (the `XXXXXXXXXX` of `AuthKey_XXXXXXXXXX.p8`).
pub const KEY_ID: &str = "CARGO_DIST_MACOS_NOTARY_KEY_ID";
/// The API key itself: the `.p8` file's text, or its base64.
pub const KEY: &str = "CARGO_DIST_MACOS_NOTARY_KEY";
/// The notary service (Apple's by default).
pub const URL: &str = "CARGO_DIST_MACOS_NOTARY_URL";
/// The S3 endpoint uploads go to (AWS's for the service's region by default).
pub const S3_ENDPOINT: &str = "CARGO_DIST_MACOS_NOTARY_S3_ENDPOINT";

pub const APPLE_NOTARY_URL: &str = "https://appstoreconnect.apple.com/notary/v2";
/// The region of the notary service's upload buckets.
const REGION: &str = "us-west-2";
/// A token's life: Apple refuses tokens that live longer than 20 minutes.
const TOKEN_LIFE: u64 = 15 * 60;
/// How long a submission may stay "In Progress" before the build gives up on it.
const WAIT: Duration = Duration::from_secs(2 * 60 * 60);

const FIX_KEY: &str =
    "set it to the text of the App Store Connect API key (`AuthKey_<ID>.p8`), or its base64";
const FIX_IDS: &str = "set the key's issuer ID and key ID as App Store Connect shows them";

/// An App Store Connect API key, as the environment names it.
pub struct NotaryKey {
    issuer: String,
    key_id: String,
    pair: EcdsaKeyPair,
}

impl std::fmt::Debug for NotaryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        write!(f, "NotaryKey({} {})", self.issuer, self.key_id)
    }
}

/// The API key the environment names; `None` when none of its variables is set.
pub fn notary_key(vars: &BTreeMap<String, String>) -> Result<Option<NotaryKey>, SignError> {
    let get = |var: &str| vars.get(var).map(|v| v.trim()).filter(|v| !v.is_empty());
    let Some(text) = get(KEY) else {
        return match [ISSUER, KEY_ID].into_iter().find(|v| get(v).is_some()) {
            Some(var) => Err(setting(KEY, format!("is not set, but {var} is"), FIX_KEY)),
            None => Ok(None),
        };
    };
    let id = |var: &'static str| {
        get(var)
            .map(str::to_string)
            .ok_or_else(|| setting(var, format!("is not set, but {KEY} is"), FIX_IDS))
    };
    let (issuer, key_id) = (id(ISSUER)?, id(KEY_ID)?);
    let der = pkcs8_der(text).ok_or_else(|| {
        setting(
            KEY,
            "is neither a PEM private key nor the base64 of one".into(),
            FIX_KEY,
        )
    })?;
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &SystemRandom::new())
            .map_err(|e| {
                setting(
                    KEY,
                    format!("is not a P-256 private key (PKCS#8), as App Store Connect's are: {e}"),
                    FIX_KEY,
                )
            })?;
    Ok(Some(NotaryKey {
        issuer,
        key_id,
        pair,
    }))
}

/// The DER inside a PEM private key, given as PEM or as the base64 of the PEM (or of the DER).
fn pkcs8_der(text: &str) -> Option<Vec<u8>> {
    if text.contains("-----BEGIN") {
        let body: String = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.starts_with("-----"))
            .collect();
        return BASE64.decode(body).ok();
    }
    let compact: String = text.split_whitespace().collect();
    let bytes = BASE64.decode(compact).ok()?;
    match std::str::from_utf8(&bytes) {
        Ok(pem) if pem.contains("-----BEGIN") => pkcs8_der(pem),
        _ => Some(bytes),
    }
}

impl NotaryKey {
    /// A token for the notary service, valid from `now` (seconds since the epoch).
    fn token(&self, now: u64) -> Result<String, String> {
        let part = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let header = json!({"alg": "ES256", "kid": self.key_id, "typ": "JWT"});
        let claims = json!({
            "aud": "appstoreconnect-v1",
            "exp": now + TOKEN_LIFE,
            "iat": now,
            "iss": self.issuer,
        });
        let input = format!("{}.{}", part(header), part(claims));
        let signature = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .map_err(|e| format!("signing the API token: {e}"))?;
        Ok(format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        ))
    }
}

/// Where submissions go: Apple's service unless the environment names another.
#[derive(Debug, Clone)]
pub struct Service {
    url: String,
    s3_endpoint: Option<String>,
}

impl Service {
    pub fn from_vars(vars: &BTreeMap<String, String>) -> Service {
        let get = |var: &str| vars.get(var).map(|v| v.trim()).filter(|v| !v.is_empty());
        Service {
            url: get(URL)
                .unwrap_or(APPLE_NOTARY_URL)
                .trim_end_matches('/')
                .to_string(),
            s3_endpoint: get(S3_ENDPOINT).map(str::to_string),
        }
    }
}

/// What Apple decided about an accepted submission.
#[derive(Debug, Clone)]
pub struct Notarized {
    pub id: String,
    /// The log's issues, which do not stop acceptance but should be fixed.
    pub warnings: Vec<String>,
}

/// Submits `zip` as `name`, waits for Apple's decision and reads the log: accepted, or an
/// error that carries the log's issues. `file` names the submission in errors.
pub fn notarize(
    key: &NotaryKey,
    service: &Service,
    file: &str,
    name: &str,
    zip: Vec<u8>,
) -> Result<Notarized, SignError> {
    let failed = |message: String| SignError::Notary {
        file: file.to_string(),
        message,
    };
    let api = Api::new(key, service).map_err(failed)?;
    let sha256 = hex::encode(ring::digest::digest(&ring::digest::SHA256, &zip));
    let created = api
        .call(
            "POST",
            "/submissions",
            Some(json!({"sha256": sha256, "submissionName": name})),
        )
        .map_err(failed)?;
    let id = text(&created, "/data/id").map_err(failed)?;
    let attr = |field: &str| text(&created, &format!("/data/attributes/{field}"));
    let (bucket, object) = (
        attr("bucket").map_err(failed)?,
        attr("object").map_err(failed)?,
    );
    let (access, secret) = (
        attr("awsAccessKeyId").map_err(failed)?,
        attr("awsSecretAccessKey").map_err(failed)?,
    );
    let token = attr("awsSessionToken").ok();
    let to = dist_store::remote::S3Object {
        endpoint: service.s3_endpoint.as_deref(),
        region: REGION,
        bucket: &bucket,
        key: &object,
        access_key_id: &access,
        secret_access_key: &secret,
        session_token: token.as_deref(),
    };
    dist_store::remote::put_s3_object(&to, zip)
        .map_err(|e| failed(format!("uploading submission {id}: {e}")))?;
    let status = api.wait(&id).map_err(failed)?;
    let issues = api.issues(&id).map_err(failed)?;
    if status != "Accepted" {
        let mut message = format!("Apple's notary service says {status} (submission {id})");
        for issue in &issues {
            message.push_str("\n  ");
            message.push_str(issue);
        }
        return Err(failed(message));
    }
    Ok(Notarized {
        id,
        warnings: issues,
    })
}

/// The string at `pointer` in a response.
fn text(v: &Value, pointer: &str) -> Result<String, String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("the notary service's answer has no {pointer}"))
}

/// The notary service's calls, each with a fresh token.
struct Api<'a> {
    key: &'a NotaryKey,
    url: &'a str,
    client: reqwest::blocking::Client,
}

impl<'a> Api<'a> {
    fn new(key: &'a NotaryKey, service: &'a Service) -> Result<Api<'a>, String> {
        dist_store::remote::install_tls();
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| format!("starting an HTTP client: {e}"))?;
        Ok(Api {
            key,
            url: &service.url,
            client,
        })
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{path}", self.url);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let mut req = match method {
            "POST" => self.client.post(&url),
            _ => self.client.get(&url),
        }
        .bearer_auth(self.key.token(now)?)
        .header("Accept", "application/json");
        if let Some(body) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        let resp = req
            .send()
            .map_err(|e| format!("{method} {url}: {}", with_causes(&e)))?;
        read_json(&format!("{method} {url}"), resp)
    }

    /// The submission's status once it is no longer "In Progress".
    fn wait(&self, id: &str) -> Result<String, String> {
        let started = Instant::now();
        let mut pause = Duration::from_secs(1);
        loop {
            let status = text(
                &self.call("GET", &format!("/submissions/{id}"), None)?,
                "/data/attributes/status",
            )?;
            if status != "In Progress" {
                return Ok(status);
            }
            if started.elapsed() > WAIT {
                return Err(format!(
                    "submission {id} is still In Progress after {} minutes; its log will say why (`rcodesign notary-log {id}`)",
                    WAIT.as_secs() / 60
                ));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_secs(20));
        }
    }

    /// The log's issues, as `severity: path: message` lines.
    fn issues(&self, id: &str) -> Result<Vec<String>, String> {
        let logs = self.call("GET", &format!("/submissions/{id}/logs"), None)?;
        let url = text(&logs, "/data/attributes/developerLogUrl")?;
        // The log's URL is presigned: no token.
        let resp = self
            .client
            .get(&url)
            .send()
            .map_err(|e| format!("fetching the log of submission {id}: {}", with_causes(&e)))?;
        let log = read_json(&format!("the log of submission {id}"), resp)?;
        let issues = log.get("issues").and_then(Value::as_array);
        Ok(issues
            .into_iter()
            .flatten()
            .map(|i| {
                let field = |k: &str| i.get(k).and_then(Value::as_str).unwrap_or("");
                let path = match field("path") {
                    "" => String::new(),
                    p => format!("{p}: "),
                };
                format!("{}: {path}{}", field("severity"), field("message"))
            })
            .collect())
    }
}

/// An error and its causes: reqwest's own message ("error sending request") says too little.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

fn read_json(what: &str, resp: reqwest::blocking::Response) -> Result<Value, String> {
    let status = resp.status();
    let body = resp.text().map_err(|e| format!("{what}: {e}"))?;
    if !status.is_success() {
        let said: String = body.chars().take(400).collect();
        return Err(format!("{what}: HTTP {status}: {said}"));
    }
    serde_json::from_str(&body).map_err(|e| format!("{what}: not JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A throwaway P-256 key made by `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`.
    const TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg8+v772vR32Rf0e5/\n3MVbhWgDGt3Z3DtsjNuEqeu7dhqhRANCAATAORbTUIr3imtWZq+NFuuQECJWvTO5\n2itS7PC/yHUUEwY6hRE7gm4k4tmVRqQfoaXAzSgKXQp9qbrJw4LnP9ql\n-----END PRIVATE KEY-----\n";

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_key_is_read_as_pem_or_base64_and_half_a_setting_is_named() {
        assert!(notary_key(&vars(&[])).unwrap().is_none());
        let full = [(ISSUER, "issuer-uuid"), (KEY_ID, "ABC123"), (KEY, TEST_KEY)];
        let key = notary_key(&vars(&full)).unwrap().unwrap();
        assert_eq!(key.key_id, "ABC123");
        let b64 = BASE64.encode(TEST_KEY);
        let again = [(ISSUER, "i"), (KEY_ID, "k"), (KEY, b64.as_str())];
        assert!(notary_key(&vars(&again)).unwrap().is_some());
        let half = notary_key(&vars(&[(ISSUER, "i")])).unwrap_err().to_string();
        assert!(half.starts_with(KEY) && half.contains(ISSUER), "{half}");
        let no_id = notary_key(&vars(&[(KEY, TEST_KEY), (ISSUER, "i")]))
            .unwrap_err()
            .to_string();
        assert!(no_id.starts_with(KEY_ID), "{no_id}");
        let bad = [(ISSUER, "i"), (KEY_ID, "k"), (KEY, "bm90IGEga2V5")];
        let said = notary_key(&vars(&bad)).unwrap_err().to_string();
        assert!(said.starts_with(KEY) && !said.contains("bm90"), "{said}");
    }

    #[test]
    fn the_token_names_the_key_and_verifies_with_its_public_half() {
        let full = [(ISSUER, "issuer-uuid"), (KEY_ID, "ABC123"), (KEY, TEST_KEY)];
        let key = notary_key(&vars(&full)).unwrap().unwrap();
        let token = key.token(1_000_000).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let decode = |p: &str| -> Value {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
        };
        let (header, claims) = (decode(parts[0]), decode(parts[1]));
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], "ABC123");
        assert_eq!(claims["iss"], "issuer-uuid");
        assert_eq!(claims["aud"], "appstoreconnect-v1");
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            TOKEN_LIFE
        );
        use ring::signature::{KeyPair as _, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};
        let public =
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, key.pair.public_key().as_ref());
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        let signed = format!("{}.{}", parts[0], parts[1]);
        public.verify(signed.as_bytes(), &signature).unwrap();
        assert!(public.verify(b"other", &signature).is_err());
    }
}
