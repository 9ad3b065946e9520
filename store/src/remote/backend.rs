//! The storage library (Apache OpenDAL) and nothing else of it: a remote URL becomes an
//! operator with retries and timeouts, and every call comes back as a [`Fault`] or a value.

use std::time::Duration;

use opendal::layers::{RetryLayer, TimeoutLayer};
use opendal::{services, ErrorKind, Operator};

/// How a remote call failed after its retries.
#[derive(Debug, Clone)]
pub(crate) struct Fault(pub String);

impl From<opendal::Error> for Fault {
    fn from(e: opendal::Error) -> Fault {
        // OpenDAL's message carries the URL and the call; the causes under it (a refused
        // connection, a certificate) say what to fix.
        let mut text = e.to_string().lines().next().unwrap_or_default().to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            let c = cause.to_string();
            if !text.contains(&c) {
                text.push_str(": ");
                text.push_str(&c);
            }
            source = cause.source();
        }
        Fault(text)
    }
}

/// Per-call limits: a remote that stops answering costs seconds, not the build.
const TIMEOUT: Duration = Duration::from_secs(60);
const IO_TIMEOUT: Duration = Duration::from_secs(15);
const RETRIES: usize = 3;

/// `redis://host:port/DB`: the path is the database number, as redis-cli reads it.
fn redis(
    url: &str,
    parsed: &url::Url,
    root: &str,
    password: Option<&str>,
) -> Result<services::Redis, String> {
    let host = parsed.host_str().ok_or(format!("{url}: no host"))?;
    let port = parsed.port().unwrap_or(6379);
    let db = root.trim_matches('/');
    let db: i64 = if db.is_empty() {
        0
    } else {
        db.parse()
            .map_err(|_| format!("{url}: the path must be a database number"))?
    };
    let mut b = services::Redis::default()
        .endpoint(&format!("{}://{host}:{port}", parsed.scheme()))
        .db(db)
        .root("/cargo-dist/");
    if !parsed.username().is_empty() {
        b = b.username(parsed.username());
    }
    if let Some(p) = parsed.password().or(password) {
        b = b.password(p);
    }
    Ok(b)
}

/// The operator for `url`, and the URL as shown to users (credentials left out).
pub(crate) fn operator(config: &super::RemoteConfig) -> Result<(Operator, String), String> {
    let (url, password) = (config.url.as_str(), config.password.as_deref());
    // Once per process; a second call (another remote in the same process) changes nothing.
    let _ = rustls::crypto::ring::default_provider().install_default();
    opendal_http_transport_reqwest::install_default();
    let op = if url == "gha" {
        // The GitHub Actions cache service: endpoint and token come from the runner's
        // ACTIONS_* variables, which the generated workflow exports to the step.
        let root = "/cargo-dist/";
        Operator::new(
            services::Ghac::default()
                .root(root)
                .version("cargo-dist-remote-1"),
        )
        .map_err(|e| format!("the GitHub Actions cache (`gha`): {e}"))?
    } else {
        let parsed = url::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        let path = parsed.path().to_string();
        let root = if path.is_empty() {
            "/".to_string()
        } else {
            path
        };
        match parsed.scheme() {
            "file" => Operator::new(services::Fs::default().root(&root)),
            "webdav+http" | "webdav+https" | "http" | "https" => {
                let scheme = parsed.scheme().trim_start_matches("webdav+");
                let host = parsed.host_str().ok_or(format!("{url}: no host"))?;
                let endpoint = match parsed.port() {
                    Some(p) => format!("{scheme}://{host}:{p}"),
                    None => format!("{scheme}://{host}"),
                };
                let mut b = services::Webdav::default().endpoint(&endpoint).root(&root);
                if !parsed.username().is_empty() {
                    b = b.username(parsed.username());
                }
                if let Some(p) = parsed.password().or(password) {
                    b = b.password(p);
                }
                Operator::new(b)
            }
            "redis" | "rediss" => Operator::new(redis(url, &parsed, &root, password)?),
            "s3" => {
                // s3://bucket/prefix; region, endpoint and credentials from the usual AWS_*
                // variables (AWS_REGION, AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ...).
                let bucket = parsed.host_str().ok_or(format!("{url}: no bucket"))?;
                let mut b = services::S3::default().bucket(bucket).root(&root);
                if let Some(region) = &config.s3_region {
                    b = b.region(region);
                }
                if let Some(endpoint) = &config.s3_endpoint {
                    b = b.endpoint(endpoint);
                }
                Operator::new(b)
            }
            other => {
                return Err(format!(
                "{url}: unknown scheme `{other}`; use s3://, webdav+http(s)://, http(s)://, redis://, file:// or gha"
            ))
            }
        }
        .map_err(|e| format!("{url}: {e}"))?
    };
    let timeout = config.timeout.unwrap_or(TIMEOUT);
    let op = op
        .layer(
            TimeoutLayer::new()
                .with_timeout(timeout)
                .with_io_timeout(IO_TIMEOUT.min(timeout)),
        )
        .layer(
            RetryLayer::new()
                .with_max_times(RETRIES)
                .with_min_delay(Duration::from_millis(100))
                .with_max_delay(Duration::from_secs(2))
                .with_factor(2.0)
                .with_jitter(),
        );
    Ok((op, shown(url)))
}

/// `url` without a password.
fn shown(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// What a read gives: the bytes, `None` when there is nothing there, or the fault.
pub(crate) type Got = Result<Option<Vec<u8>>, Fault>;

/// The bytes at `path`, or `None` when there is nothing there.
pub(crate) async fn get(op: &Operator, path: &str) -> Got {
    match op.read(path).await {
        Ok(b) => Ok(Some(b.to_vec())),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The size of what is at `path`, or `None` when there is nothing there.
pub(crate) async fn size(op: &Operator, path: &str) -> Result<Option<u64>, Fault> {
    match op.stat(path).await {
        Ok(m) => Ok(Some(m.content_length())),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn put(op: &Operator, path: &str, bytes: Vec<u8>) -> Result<(), Fault> {
    match op.write(path, bytes).await {
        Ok(_) => Ok(()),
        // Caches whose entries are immutable (the GitHub Actions cache) refuse a second write
        // of a path; its content is addressed by the path, so it is already there.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn delete(op: &Operator, path: &str) -> Result<(), Fault> {
    op.delete(path).await.map_err(Fault::from)
}

/// One entry of a listing: path (relative to the remote's root), size, modified time.
pub(crate) struct Listed {
    pub path: String,
    pub size: u64,
    /// Unix seconds, when the backend says.
    pub modified: Option<i64>,
}

/// Every file under `dir` (e.g. `cas/`), or an error naming why this backend cannot list.
pub(crate) async fn list(op: &Operator, dir: &str) -> Result<Vec<Listed>, Fault> {
    if !op.info().capability().list {
        return Err(Fault(format!(
            "the {} backend cannot list its entries (Redis and the GitHub Actions cache evict by their own policies: Redis's maxmemory-policy, GitHub's 7-day and size limits)",
            op.info().scheme()
        )));
    }
    let entries = match op.list_with(dir).recursive(true).await {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    for e in entries {
        if e.metadata().is_dir() || e.path().ends_with('/') {
            continue;
        }
        let mut meta = e.metadata().clone();
        // Some backends list names only; ask for the rest.
        if meta.last_modified().is_none() {
            if let Ok(m) = op.stat(e.path()).await {
                meta = m;
            }
        }
        out.push(Listed {
            path: e.path().to_string(),
            size: meta.content_length(),
            modified: meta.last_modified().map(|t| {
                std::time::SystemTime::from(t)
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs() as i64)
                    .unwrap_or(0)
            }),
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}
