//! A tiny HTTP server on 127.0.0.1 for installer tests, shared by the recipes' installer tests
//! and the CLI tests (which include this file by path).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
        Server::start_on(0, routes, max_requests)
    }

    /// [`Server::start`] on `port` (0: any free one), for a URL that had to be known first.
    pub fn start_on(port: u16, routes: BTreeMap<String, Reply>, max_requests: usize) -> Server {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
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

    /// The paths requested so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
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

/// Routes serving `files` (name -> bytes) at `/{name}`.
pub fn routes_of(files: BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Reply> {
    files
        .into_iter()
        .map(|(name, bytes)| (format!("/{name}"), Reply::File(bytes)))
        .collect()
}
