//! SSL.com's eSigner, driven by cargo-dist's `SSLDOTCOM_*` secrets without SSL.com's
//! CodeSignTool (a Java program cargo-dist runs on a Windows runner): over the Cloud Signature
//! Consortium API this tool gets an OAuth token for the account, the credential's certificate
//! chain, and for each file an authorization by a one-time password (TOTP, from the secret)
//! and the signature of a digest. Only digests leave the machine; osslsigncode and
//! [`crate::authenticode`] make and attach the Authenticode signature around them.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::config::SslComEnvironment;
use crate::signing::{setting, SignError};

/// cargo-dist's secrets for SSL.com: the account, the eSigner credential, and the TOTP secret
/// (base64, as SSL.com shows it when two-factor signing is set up).
pub const USERNAME: &str = "SSLDOTCOM_USERNAME";
pub const PASSWORD: &str = "SSLDOTCOM_PASSWORD";
pub const CREDENTIAL_ID: &str = "SSLDOTCOM_CREDENTIAL_ID";
pub const TOTP_SECRET: &str = "SSLDOTCOM_TOTP_SECRET";
/// Where SSL.com's OAuth and CSC services are, when not SSL.com's own for the environment (a
/// proxy, or the stand-in the tests run).
pub const OAUTH_URL: &str = "CARGO_DIST_SSLDOTCOM_OAUTH_URL";
pub const CSC_URL: &str = "CARGO_DIST_SSLDOTCOM_CSC_URL";
/// The OAuth client the token is asked for; SSL.com's public eSigner client by default.
pub const CLIENT_ID: &str = "CARGO_DIST_SSLDOTCOM_CLIENT_ID";

/// SSL.com's services for `prod` and `test` (its sandbox): OAuth, CSC API, public client id.
fn services(env: SslComEnvironment) -> (&'static str, &'static str, &'static str) {
    match env {
        SslComEnvironment::Prod => (
            "https://login.ssl.com",
            "https://cs.ssl.com",
            "kaXTRACNijSWsFdRKg_KAfD3fqrBlzMbWs6TwWHwAn8",
        ),
        SslComEnvironment::Test => (
            "https://oauth-sandbox.ssl.com",
            "https://cs-try.ssl.com",
            "qOUeZCCzSqgA93acB3LYq6lBNjgZdiOxQc-KayC3UMw",
        ),
    }
}

/// An eSigner account and credential. Holds secrets: never printed, never hashed.
pub struct Account {
    oauth: String,
    csc: String,
    client_id: String,
    username: String,
    password: String,
    credential_id: String,
    totp_secret: Vec<u8>,
}

/// The eSigner account cargo-dist's variables name for `env`; `None` when `SSLDOTCOM_USERNAME`
/// is not set (builds are then unsigned).
pub fn account(
    env: SslComEnvironment,
    vars: &BTreeMap<String, String>,
) -> Result<Option<Account>, SignError> {
    let get = |k: &str| vars.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let Some(username) = get(USERNAME) else {
        return Ok(None);
    };
    let need = |var: &'static str, fix: &'static str| {
        get(var)
            .map(str::to_string)
            .ok_or_else(|| setting(var, format!("is not set, and {USERNAME} is"), fix))
    };
    // A password is taken as it is, spaces and all.
    let password = vars
        .get(PASSWORD)
        .filter(|v| !v.is_empty())
        .cloned()
        .ok_or_else(|| {
            setting(
                PASSWORD,
                format!("is not set, and {USERNAME} is"),
                "set it to the SSL.com account's password",
            )
        })?;
    let credential_id = need(
        CREDENTIAL_ID,
        "set it to the eSigner credential ID of the code signing certificate (SSL.com's order page lists it)",
    )?;
    let fix_totp = "set it to the base64 secret SSL.com showed when eSigner's automated signing (2FA by TOTP) was set up";
    let secret: String = need(TOTP_SECRET, fix_totp)?.split_whitespace().collect();
    let totp_secret = BASE64
        .decode(secret)
        .map_err(|e| setting(TOTP_SECRET, format!("is not base64 ({e})"), fix_totp))?;
    let (oauth, csc, client) = services(env);
    let url = |var: &str, default: &str| {
        get(var)
            .unwrap_or(default)
            .trim_end_matches('/')
            .to_string()
    };
    Ok(Some(Account {
        oauth: url(OAUTH_URL, oauth),
        csc: url(CSC_URL, csc),
        client_id: get(CLIENT_ID).unwrap_or(client).to_string(),
        username: username.to_string(),
        password,
        credential_id,
        totp_secret,
    }))
}

/// An account's token and its credential's chain, learnt once per run.
#[derive(Clone)]
struct Session {
    token: String,
    chain: Vec<Vec<u8>>,
}

static SESSIONS: Mutex<BTreeMap<String, Session>> = Mutex::new(BTreeMap::new());
/// Held while a signature is authorized.
static AUTHORIZING: Mutex<()> = Mutex::new(());

impl Account {
    /// The credential's certificate chain (DER), the signing certificate first.
    pub fn chain(&self) -> Result<Vec<Vec<u8>>, SignError> {
        Ok(self.session()?.chain)
    }

    /// The signature of `digest` by the credential's key with `algorithm` (an OID).
    pub fn sign_digest(&self, digest: &[u8], algorithm: &str) -> Result<Vec<u8>, SignError> {
        let hash = BASE64.encode(digest);
        let sad = self.authorize(&hash)?;
        let signed = self.call(
            "/csc/v0/signatures/signHash",
            &json!({
                "credentialID": self.credential_id,
                "SAD": sad,
                "hash": [hash],
                "signAlgo": algorithm,
            }),
            CREDENTIAL_ID,
        )?;
        let value = field(&signed, "/signatures/0", "signatures/signHash")?;
        BASE64.decode(value).map_err(|e| {
            refused(format!(
                "signatures/signHash: the signature is not base64 ({e})"
            ))
        })
    }

    /// The signature activation data for `hash`. A service holding to RFC 6238's advice takes
    /// each one-time password once, and another file (or another job of the release) may have
    /// sent this window's: a refused code is tried again once with the next window's.
    fn authorize(&self, hash: &str) -> Result<String, SignError> {
        let path = "/csc/v0/credentials/authorize";
        let body = |at: u64| {
            json!({
                "credentialID": self.credential_id,
                "numSignatures": 1,
                "hash": [hash],
                "OTP": totp(&self.totp_secret, at),
            })
        };
        // Held throughout: two threads never spend one window's code.
        let _one_at_a_time = AUTHORIZING.lock().unwrap_or_else(|e| e.into_inner());
        let now = unix_now();
        let answer = match self.call(path, &body(now), TOTP_SECRET) {
            Err(_) => {
                std::thread::sleep(Duration::from_secs((now / 30 + 1) * 30 - now));
                self.call(path, &body(unix_now()), TOTP_SECRET)?
            }
            answer => answer?,
        };
        field(&answer, "/SAD", "credentials/authorize")
    }

    fn session(&self) -> Result<Session, SignError> {
        let mut sessions = SESSIONS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = sessions.get(&self.id()) {
            return Ok(s.clone());
        }
        let token = self.token()?;
        let url = format!("{}/csc/v0/credentials/info", self.csc);
        let body = json!({ "credentialID": self.credential_id, "certificates": "chain" });
        let info = post(&url, Some(&token), &body)
            .map_err(|f| self.refusal("/csc/v0/credentials/info", f, CREDENTIAL_ID))?;
        let chain = info
            .pointer("/cert/certificates")
            .and_then(Value::as_array)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| refused("credentials/info: the answer names no certificate".into()))?
            .iter()
            .map(|c| {
                let b64 = c.as_str().unwrap_or_default();
                BASE64.decode(b64).map_err(|e| {
                    refused(format!(
                        "credentials/info: a certificate is not base64 ({e})"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let session = Session { token, chain };
        sessions.insert(self.id(), session.clone());
        Ok(session)
    }

    /// Which account and credential a session is of.
    fn id(&self) -> String {
        format!("{}|{}|{}", self.csc, self.username, self.credential_id)
    }

    fn token(&self) -> Result<String, SignError> {
        let body = json!({
            "client_id": self.client_id,
            "grant_type": "password",
            "username": self.username,
            "password": self.password,
        });
        let url = format!("{}/oauth2/token", self.oauth);
        let answer = post(&url, None, &body).map_err(|f| match f.status {
            None => unreachable_service(f),
            Some(_) => setting(
                PASSWORD,
                format!("SSL.com refused the account ({})", f.message),
                "check SSLDOTCOM_USERNAME and SSLDOTCOM_PASSWORD (the account's, not the certificate's)",
            ),
        })?;
        field(&answer, "/access_token", "oauth2/token")
    }

    /// A CSC API call with the session's token; a token the service no longer takes (HTTP
    /// 401: it expired during a long build) is replaced once. A refusal names `var`, the
    /// setting it most likely comes from.
    fn call(&self, path: &str, body: &Value, var: &'static str) -> Result<Value, SignError> {
        let url = format!("{}{path}", self.csc);
        let token = self.session()?.token;
        match post(&url, Some(&token), body) {
            Err(f) if f.status == Some(401) => {
                let mut sessions = SESSIONS.lock().unwrap_or_else(|e| e.into_inner());
                sessions.remove(&self.id());
                drop(sessions);
                let token = self.session()?.token;
                post(&url, Some(&token), body).map_err(|f| self.refusal(path, f, var))
            }
            answer => answer.map_err(|f| self.refusal(path, f, var)),
        }
    }

    fn refusal(&self, path: &str, f: Failure, var: &'static str) -> SignError {
        if f.status.is_none() {
            return unreachable_service(f);
        }
        setting(
            var,
            format!("SSL.com's eSigner refused {path} ({})", f.message),
            match var {
                TOTP_SECRET => "check SSLDOTCOM_TOTP_SECRET (the base64 TOTP secret) and that this machine's clock is right",
                _ => "check SSLDOTCOM_CREDENTIAL_ID: the credential must be an eSigner code signing certificate of the account",
            },
        )
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// No answer at all: the network, not a setting.
fn unreachable_service(f: Failure) -> SignError {
    refused(format!(
        "no answer ({}); is the network up? ({OAUTH_URL} and {CSC_URL} name other servers)",
        f.message
    ))
}

fn refused(message: String) -> SignError {
    SignError::Failed {
        file: "SSL.com eSigner".into(),
        message,
    }
}

fn field(v: &Value, pointer: &str, call: &str) -> Result<String, SignError> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| refused(format!("{call}: the answer has no {pointer}")))
}

/// A call that failed: the HTTP status when the service answered, and what it said.
struct Failure {
    status: Option<u16>,
    message: String,
}

/// POSTs `body` as JSON and reads the JSON answer.
fn post(url: &str, token: Option<&str>, body: &Value) -> Result<Value, Failure> {
    let failed = |message: String| Failure {
        status: None,
        message,
    };
    // One client (and its connection pool) for the run's calls.
    static CLIENT: OnceLock<Result<reqwest::blocking::Client, String>> = OnceLock::new();
    let client = CLIENT
        .get_or_init(|| {
            dist_store::remote::install_tls();
            reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .map_err(|e| format!("starting an HTTP client: {e}"))
        })
        .as_ref()
        .map_err(|e| failed(e.clone()))?;
    let mut req = client
        .post(url)
        .header("Content-Type", "application/json")
        .body(body.to_string());
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let resp = req.send().map_err(|e| failed(format!("POST {url}: {e}")))?;
    let status = resp.status();
    let text = resp
        .text()
        .map_err(|e| failed(format!("POST {url}: {e}")))?;
    if !status.is_success() {
        let said: String = text.chars().take(300).collect();
        return Err(Failure {
            status: Some(status.as_u16()),
            message: format!("POST {url}: HTTP {status}: {said}"),
        });
    }
    serde_json::from_str(&text).map_err(|e| failed(format!("POST {url}: not JSON: {e}")))
}

/// RFC 6238's one-time password: HMAC-SHA1 over 30-second steps, six digits.
pub fn totp(secret: &[u8], unix_time: u64) -> String {
    use ring::hmac;
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = hmac::sign(&key, &(unix_time / 30).to_be_bytes());
    let mac = tag.as_ref();
    let at = usize::from(mac[mac.len() - 1] & 0x0f);
    let word = u32::from_be_bytes([mac[at], mac[at + 1], mac[at + 2], mac[at + 3]]);
    format!("{:06}", (word & 0x7fff_ffff) % 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_time_passwords_are_rfc_6238s() {
        // RFC 6238 appendix B, SHA-1: the last six of its eight digits.
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(totp(secret, time), code, "{time}");
        }
    }

    #[test]
    fn an_account_needs_all_four_secrets_and_a_base64_totp_secret() {
        let mut vars = BTreeMap::new();
        assert!(account(SslComEnvironment::Prod, &vars).unwrap().is_none());
        vars.insert(USERNAME.to_string(), "release@example.com".to_string());
        let err = account(SslComEnvironment::Prod, &vars).err().unwrap();
        assert!(err.to_string().starts_with(PASSWORD), "{err}");
        vars.insert(PASSWORD.into(), "pw".into());
        vars.insert(CREDENTIAL_ID.into(), "c0ffee".into());
        vars.insert(TOTP_SECRET.into(), "not base64!".into());
        let err = account(SslComEnvironment::Prod, &vars).err().unwrap();
        assert!(err.to_string().starts_with(TOTP_SECRET), "{err}");
        vars.insert(TOTP_SECRET.into(), "MTIzNDU2Nzg5MDEy\nMzQ1Njc4OTA=".into());
        let a = account(SslComEnvironment::Test, &vars).unwrap().unwrap();
        assert_eq!(a.totp_secret, b"12345678901234567890");
        assert_eq!(a.csc, "https://cs-try.ssl.com");
        vars.insert(CSC_URL.into(), "http://127.0.0.1:9/".into());
        let a = account(SslComEnvironment::Prod, &vars).unwrap().unwrap();
        assert_eq!(
            (a.csc.as_str(), a.oauth.as_str()),
            ("http://127.0.0.1:9", "https://login.ssl.com")
        );
    }
}
