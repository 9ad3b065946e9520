//! Shared fixtures for the installer tests: real archives, a tiny HTTP server on 127.0.0.1 and
//! helpers to run real tools with a clean environment.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dist_recipes::archive::{sha256_file, write_archive, ArchiveEntry, ArchiveFormat, EntryMode};
use dist_recipes::installer::{InstallPath, InstallerApp, InstallerArtifact};

pub const APP: &str = "my-app";
pub const VERSION: &str = "1.2.0";

/// PATH for the tools under test: system dirs only, so no test HOME is ever already on it.
pub const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Panics (never skips) when a tool the test needs is missing.
pub fn require_tool(name: &str) -> PathBuf {
    for dir in SYSTEM_PATH.split(':') {
        let candidate = Path::new(dir).join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "this test needs `{name}` on PATH ({SYSTEM_PATH}); install it (see .ci/run: apt-get install -y shellcheck busybox ruby nodejs npm dash)"
    );
}

/// The host target triple, from `rustc -vV`.
pub fn host_target() -> String {
    let out = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("-vV")
        .output()
        .expect("running rustc -vV");
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV prints a host line")
        .to_string()
}

/// What the fake binary prints: its name and version, then its arguments.
pub fn fake_binary_script(bin: &str) -> String {
    // `--exit N` lets tests check that launchers forward exit codes.
    format!(
        "#!/bin/sh\necho \"{bin} {VERSION} $*\"\nif [ \"${{1:-}}\" = --exit ]; then exit \"$2\"; fi\nexit 0\n"
    )
}

/// Builds a real archive for `target` holding one fake executable per binary, and returns the
/// artifact describing it (with its sha256) plus the archive's path.
pub fn build_archive(
    dir: &Path,
    target: &str,
    binaries: &[&str],
    format: ArchiveFormat,
) -> (InstallerArtifact, PathBuf) {
    let staging = dir.join(format!("staging-{target}"));
    std::fs::create_dir_all(&staging).unwrap();
    let mut entries = Vec::new();
    for bin in binaries {
        let src = staging.join(bin);
        std::fs::write(&src, fake_binary_script(bin)).unwrap();
        entries.push(ArchiveEntry {
            path: bin.to_string(),
            source: src,
            mode: EntryMode::Executable,
        });
    }
    let root = format!("{APP}-{target}");
    let file_name = format!("{root}{}", format.extension());
    let served = dir.join("served");
    std::fs::create_dir_all(&served).unwrap();
    let out = served.join(&file_name);
    write_archive(format, &root, &entries, &out).unwrap();
    let sha = sha256_file(&out).unwrap();
    let artifact = InstallerArtifact {
        target: target.to_string(),
        file_name,
        sha256: Some(sha),
        root_dir: format.has_root_dir().then_some(root),
    };
    (artifact, out)
}

pub fn app_with(binaries: &[&str], artifacts: Vec<InstallerArtifact>) -> InstallerApp {
    InstallerApp {
        app_name: APP.into(),
        app_version: VERSION.into(),
        binaries: binaries.iter().map(|b| b.to_string()).collect(),
        aliases: Vec::new(),
        success_msg: None,
        download_url: "https://github.com/owner/my-app/releases/download/v1.2.0".into(),
        install_paths: vec![InstallPath::CargoHome],
        artifacts,
        description: Some("A test app that says \"hi\" and it's fine".into()),
        homepage: Some("https://example.com/my-app".into()),
        license: Some("MIT OR Apache-2.0".into()),
    }
}

/// A sha256 of the right shape for artifacts that are never downloaded.
pub fn fake_sha(seed: char) -> String {
    std::iter::repeat_n(seed, 64).collect()
}

/// What the server answers for one path.
#[derive(Clone)]
pub enum Reply {
    File(Vec<u8>),
    Redirect(String),
}

/// A tiny HTTP/1.0-style server on 127.0.0.1 that answers at most `max_requests` requests or
/// stops after `lifetime`, whichever comes first; unknown paths get 404.
pub struct Server {
    pub port: u16,
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    pub fn start(routes: BTreeMap<String, Reply>, max_requests: usize) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(180);
            let mut served = 0;
            while served < max_requests && Instant::now() < deadline {
                let (stream, _) = match listener.accept() {
                    Ok(conn) => conn,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                    Err(_) => break,
                };
                served += 1;
                stream.set_nonblocking(false).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                let mut reader = BufReader::new(stream);
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                // Drain the headers; the body of a GET is empty.
                let mut line = String::new();
                while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                    line.clear();
                }
                let path = request_line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("/")
                    .to_string();
                log.lock().unwrap().push(path.clone());
                let mut stream = reader.into_inner();
                let (head, body) = match routes.get(&path) {
                    Some(Reply::File(bytes)) => ("200 OK".to_string(), bytes.clone()),
                    Some(Reply::Redirect(to)) => {
                        (format!("302 Found\r\nLocation: {to}"), Vec::new())
                    }
                    None => ("404 Not Found".to_string(), b"not found\n".to_vec()),
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {head}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(&body);
                let _ = stream.flush();
            }
        });
        Server { port, requests }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn request_count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

/// Routes serving every file of `dir` at `/{file name}`.
pub fn serve_dir(dir: &Path) -> BTreeMap<String, Reply> {
    let mut routes = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        routes.insert(
            format!("/{name}"),
            Reply::File(std::fs::read(entry.path()).unwrap()),
        );
    }
    routes
}

/// A command with an empty environment but PATH and HOME, so proxies, the developer's
/// CARGO_HOME and the like never leak in.
pub fn clean_command(program: impl AsRef<std::ffi::OsStr>, home: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", SYSTEM_PATH)
        .env("HOME", home)
        .env("LC_ALL", "C");
    cmd
}

pub fn describe(out: &Output) -> String {
    format!(
        "status: {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
