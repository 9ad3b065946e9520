//! One object put into an S3 bucket with temporary credentials, outside any remote store:
//! Apple's notary service hands out such a bucket and key for each submission. The same
//! storage library as the remote store, so there is one S3 client in the tool.

use opendal::{services, Operator};

/// Where the object goes and the credentials that may put it there.
#[derive(Debug, Clone)]
pub struct S3Object<'a> {
    /// `None`: AWS's own endpoint for `region`.
    pub endpoint: Option<&'a str>,
    pub region: &'a str,
    pub bucket: &'a str,
    pub key: &'a str,
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub session_token: Option<&'a str>,
}

/// Puts `bytes` at `to`; the error says what failed, without the credentials.
pub fn put_s3_object(to: &S3Object, bytes: Vec<u8>) -> Result<(), String> {
    super::install_tls();
    opendal_http_transport_reqwest::install_default();
    let mut b = services::S3::default()
        .bucket(to.bucket)
        .region(to.region)
        .access_key_id(to.access_key_id)
        .secret_access_key(to.secret_access_key)
        .root("/")
        // Only the credentials given: never the caller's AWS_* variables or profile.
        .disable_config_load()
        .disable_ec2_metadata();
    if let Some(token) = to.session_token {
        b = b.session_token(token);
    }
    if let Some(endpoint) = to.endpoint {
        b = b.endpoint(endpoint);
    }
    let shown = format!("s3://{}/{}", to.bucket, to.key);
    let op = Operator::new(b).map_err(|e| format!("{shown}: {e}"))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the upload runtime: {e}"))?;
    rt.block_on(op.write(to.key, bytes))
        .map(|_| ())
        .map_err(|e| format!("putting {shown}: {}", super::backend::Fault::from(e).0))
}
