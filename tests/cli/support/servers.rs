//! Real servers the tests start on 127.0.0.1: nginx with its WebDAV modules (Debian's
//! nginx-extras) and redis-server, both installed by `.ci/run`, and an npm registry of the
//! tests' own (`npm_registry.py`: what npm and pnpm use of the registry API).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DAV_MODULE: &str = "/usr/lib/nginx/modules/ngx_http_dav_ext_module.so";

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind a free port")
        .local_addr()
        .unwrap()
        .port()
}

pub fn wait_for_port(port: u16, what: &str, child: &mut Child) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited at start ({status})");
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{what} did not listen on 127.0.0.1:{port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn need(program: &str, package: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"] {
        let p = Path::new(dir).join(program);
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "{program} is not installed: these tests need Debian's {package} (`.ci/run` installs it)"
    );
}

/// nginx serving WebDAV (PUT, DELETE, MKCOL, PROPFIND) from `<dir>/root` on a free port, with
/// `/broken/` answering every request with HTTP 500.
pub struct Nginx {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Child,
}

impl Nginx {
    pub fn start() -> Nginx {
        let nginx = need("nginx", "nginx-extras");
        assert!(
            Path::new(DAV_MODULE).is_file(),
            "{DAV_MODULE} is missing: these tests need Debian's nginx-extras (`.ci/run` installs it)"
        );
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("root")).unwrap();
        std::fs::create_dir_all(d.join("tmp")).unwrap();
        let port = free_port();
        let conf = format!(
            "load_module {DAV_MODULE};
daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log {d}/access.log;
  client_body_temp_path {d}/tmp;
  proxy_temp_path {d}/tmp;
  fastcgi_temp_path {d}/tmp;
  uwsgi_temp_path {d}/tmp;
  scgi_temp_path {d}/tmp;
  client_max_body_size 0;
  server {{
    listen 127.0.0.1:{port};
    root {d}/root;
    location /broken/ {{ return 500; }}
    location /half/cas/ {{ return 500; }}
    location / {{
      dav_methods PUT DELETE MKCOL COPY MOVE;
      dav_ext_methods PROPFIND OPTIONS;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
    }}
  }}
}}
",
            d = d.display()
        );
        std::fs::write(d.join("nginx.conf"), conf).unwrap();
        let mut child = Command::new(nginx)
            .args(["-e", &d.join("error.log").display().to_string()])
            .args(["-p", &d.display().to_string(), "-c"])
            .arg(d.join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        wait_for_port(port, "nginx", &mut child);
        Nginx { dir, port, child }
    }

    pub fn url(&self) -> String {
        format!("webdav+http://127.0.0.1:{}/cache", self.port)
    }

    /// Where the server keeps what the store uploads.
    pub fn files(&self) -> PathBuf {
        self.dir.path().join("root/cache")
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.kill();
    }
}

pub struct Redis {
    _dir: tempfile::TempDir,
    pub port: u16,
    child: Child,
}

impl Redis {
    pub fn start() -> Redis {
        let redis = need("redis-server", "redis-server");
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut child = Command::new(redis)
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        wait_for_port(port, "redis-server", &mut child);
        Redis {
            _dir: dir,
            port,
            child,
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An npm registry on a free port (`npm_registry.py`), keeping what is published in `dir`;
/// publishing needs the token [`NpmRegistry::TOKEN`].
pub struct NpmRegistry {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Child,
}

impl NpmRegistry {
    pub const TOKEN: &'static str = "npm-test-token";

    pub fn start() -> NpmRegistry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/support/npm_registry.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(dir.path())
            .arg(port.to_string())
            .arg(Self::TOKEN)
            .stdout(Stdio::null())
            .spawn()
            .expect("python3 is needed (`.ci/run` installs it)");
        wait_for_port(port, "the npm registry (npm_registry.py)", &mut child);
        NpmRegistry { dir, port, child }
    }

    /// The registry URL, with the trailing slash npm's config keys use.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// The tarball published as `name@version`, when there is one.
    pub fn tarball(&self, name: &str, version: &str) -> Option<Vec<u8>> {
        let doc = self
            .dir
            .path()
            .join("packages")
            .join(format!("{}.json", name.replace('/', "%2f")));
        let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(doc).ok()?).unwrap();
        let url = doc["versions"][version]["dist"]["tarball"].as_str()?;
        let file = url.rsplit('/').next().unwrap();
        std::fs::read(self.dir.path().join("tarballs").join(file)).ok()
    }
}

impl Drop for NpmRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// moto's S3 server (PyPI's `moto[server]`) on a free port, with test credentials.
pub struct Moto {
    pub port: u16,
    child: Child,
}

impl Moto {
    pub fn start() -> Moto {
        let server = ["/usr/local/bin", "/usr/bin"]
            .iter()
            .map(|d| Path::new(d).join("moto_server"))
            .find(|p| p.is_file())
            .or_else(|| {
                let path = std::env::var_os("PATH")?;
                std::env::split_paths(&path)
                    .map(|d| d.join("moto_server"))
                    .find(|p| p.is_file())
            })
            .expect("moto_server is not installed: these tests need PyPI's moto[server] (`.ci/run` installs it)");
        let port = free_port();
        let mut child = Command::new(server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        wait_for_port(port, "moto_server", &mut child);
        Moto { port, child }
    }

    /// What the S3 client reads: endpoint, region and the (test) credentials.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            (
                "AWS_ENDPOINT_URL",
                format!("http://127.0.0.1:{}", self.port),
            ),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_ACCESS_KEY_ID", "testing".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Creates the bucket `name` (moto takes an unsigned PUT) and returns its name.
    pub fn bucket(&self, name: &str) -> String {
        let out = Command::new("curl")
            .args(["-fsS", "-X", "PUT"])
            .arg(format!("http://127.0.0.1:{}/{name}", self.port))
            .output()
            .expect("curl is needed (`.ci/run` installs it)");
        assert!(out.status.success(), "creating bucket {name}: {out:?}");
        name.to_string()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
