//! A fault-injecting TCP proxy on 127.0.0.1, in front of a real server (nginx WebDAV, Redis):
//! what a shared cache's network does on a bad day, on purpose and countably. Each connection is
//! forwarded to the upstream port, and the fault decides what the client gets back. It stops
//! when dropped, and by itself after [`LIFETIME`], so no test can leave it running.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Longest a proxy lives.
pub const LIFETIME: Duration = Duration::from_secs(300);

#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// Every reply is delayed this long per chunk.
    Latency(Duration),
    /// The first `n` connections: part of the reply, then a TCP reset.
    ResetMidBody(usize),
    /// The first `n` connections: part of the reply, then a clean close (a short body).
    Truncate(usize),
    /// The first `n` connections get `HTTP/1.1 503` and are closed, unforwarded.
    Unavailable(usize),
    /// Every connection: the request is read and nothing ever comes back.
    Hang,
    /// Every connection is reset once the request is read: a server that is down for good.
    ResetAll,
}

pub struct FaultProxy {
    pub port: u16,
    stop: Arc<AtomicBool>,
    connections: Arc<AtomicUsize>,
    faulted: Arc<AtomicUsize>,
    accept: Option<JoinHandle<()>>,
}

impl FaultProxy {
    pub fn start(upstream: u16, fault: Fault) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(AtomicUsize::new(0));
        let faulted = Arc::new(AtomicUsize::new(0));
        let (s, c, f) = (stop.clone(), connections.clone(), faulted.clone());
        let accept = std::thread::spawn(move || {
            let born = Instant::now();
            while !s.load(Ordering::SeqCst) && born.elapsed() < LIFETIME {
                match listener.accept() {
                    Ok((client, _)) => {
                        let n = c.fetch_add(1, Ordering::SeqCst);
                        let (s, f) = (s.clone(), f.clone());
                        std::thread::spawn(move || serve(client, upstream, fault, n, &s, &f));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        FaultProxy {
            port,
            stop,
            connections,
            faulted,
            accept: Some(accept),
        }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Connections the fault was applied to so far.
    pub fn faulted(&self) -> usize {
        self.faulted.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

/// A connection: the fault, or a plain relay.
fn serve(
    client: TcpStream,
    upstream: u16,
    fault: Fault,
    n: usize,
    stop: &AtomicBool,
    faulted: &AtomicUsize,
) {
    let _ = client.set_nonblocking(false);
    let applies = match fault {
        Fault::ResetMidBody(k) | Fault::Truncate(k) | Fault::Unavailable(k) => n < k,
        Fault::Latency(_) | Fault::Hang | Fault::ResetAll => true,
    };
    if applies {
        faulted.fetch_add(1, Ordering::SeqCst);
    }
    match fault {
        Fault::Unavailable(_) if applies => {
            let mut c = client;
            read_some(&mut c);
            let _ = c.write_all(
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            let _ = c.shutdown(Shutdown::Both);
        }
        Fault::Hang => {
            let mut c = client;
            read_some(&mut c);
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Fault::ResetAll => {
            let mut c = client;
            read_some(&mut c);
            reset(c);
        }
        _ => relay(client, upstream, fault, applies, stop),
    }
}

/// Reads what the client sent first (its request), with a bound on the wait.
fn read_some(c: &mut TcpStream) {
    let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 16384];
    let _ = c.read(&mut buf);
}

/// Closes with a TCP reset (SO_LINGER 0) rather than a clean FIN.
fn reset(c: TcpStream) {
    let _ = socket2::SockRef::from(&c).set_linger(Some(Duration::ZERO));
    drop(c);
}

/// Relays both ways; the upstream's reply goes through the fault when it `applies`.
fn relay(client: TcpStream, upstream: u16, fault: Fault, applies: bool, stop: &AtomicBool) {
    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
        reset(client);
        return;
    };
    let (mut c_read, mut s_write) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c_read, &mut s_write);
        let _ = s_write.shutdown(Shutdown::Write);
    });
    let (mut s_read, mut c_write) = (server, client);
    let _ = s_read.set_read_timeout(Some(Duration::from_millis(200)));
    let mut buf = [0u8; 16384];
    loop {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let n = match s_read.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(_) => break,
        };
        match fault {
            Fault::Latency(d) => std::thread::sleep(d),
            Fault::ResetMidBody(_) | Fault::Truncate(_) if applies => {
                // Half of the first chunk: the status line and some headers or body, never all.
                let cut = (n / 2).max(1);
                let _ = c_write.write_all(&buf[..cut]);
                match fault {
                    Fault::ResetMidBody(_) => reset(c_write),
                    _ => {
                        let _ = c_write.shutdown(Shutdown::Both);
                    }
                }
                let _ = s_read.shutdown(Shutdown::Both);
                let _ = up.join();
                return;
            }
            _ => {}
        }
        if c_write.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = c_write.shutdown(Shutdown::Both);
    let _ = s_read.shutdown(Shutdown::Both);
    let _ = up.join();
}
