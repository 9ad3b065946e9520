//! The remote store through a fault-injecting proxy of the tests' own (`support/proxy.rs`) in
//! front of real servers: nginx WebDAV and Redis. Whatever the network does (latency, a reset
//! mid-body, a short body, a burst of 503s, a server that hangs or is gone), every build ends
//! with the right bytes: from the remote when its retries get through, else built locally with
//! one warning; each in seconds (`CARGO_DIST_REMOTE_TIMEOUT=2`), the local store verifying
//! after it, and nothing half-written reaching the remote when the fault hits an upload.
//!
//! Each case prints a `fault-table:` line (`cargo test remote_faults -- --nocapture`), the
//! figures of the README's fault table.

use std::time::{Duration, Instant};

use crate::remote::{build, clone_of, distrib, host_app, keygen, remote_warnings, sources, Access};
use crate::support::proxy::{Fault, FaultProxy};
use crate::support::servers::{Nginx, Redis};
use crate::support::{dist_command, run_ok, Fixture};

/// What a faulty remote may cost a build at most, retries and the fallback build included.
const BOUND: Duration = Duration::from_secs(60);

/// A workspace whose artifacts are on the remote at `url` (uploaded by a direct build), the
/// keys, and the bytes that build made.
struct Seeded {
    fx: Fixture,
    public: String,
    bytes: std::collections::BTreeMap<String, Vec<u8>>,
}

fn seeded(url: &str) -> Seeded {
    let (fx, _host) = host_app("faulty", "through the fault");
    let (secret, public) = keygen(&fx);
    let writer = Access {
        url: url.to_string(),
        signing: Some(secret),
        trusted: vec![],
        read_only: false,
        env: vec![],
    };
    let (_, stderr) = build(fx.root(), &fx.store(), &writer);
    assert!(remote_warnings(&stderr).is_empty(), "{stderr}");
    let bytes = distrib(fx.root());
    Seeded { fx, public, bytes }
}

/// How a build through a fault went.
struct Outcome {
    remote_hits: usize,
    artifacts: usize,
    warnings: usize,
    elapsed: Duration,
}

/// A fresh machine (a clone with an empty store) builds from the remote at `url` as a reader;
/// the invariants every fault must keep are checked here. `whole`: the remote holds every
/// artifact, so anything short of all of them must come with the one warning.
fn read_through(s: &Seeded, name: &str, url: &str, whole: bool) -> Outcome {
    let (root, store) = clone_of(&s.fx, name);
    let reader = Access {
        url: url.to_string(),
        signing: None,
        trusted: vec![s.public.clone()],
        read_only: true,
        env: timeout_env(),
    };
    let started = Instant::now();
    let (manifest, stderr) = build(&root, &store, &reader);
    let elapsed = started.elapsed();
    assert!(elapsed < BOUND, "{name}: {elapsed:?}\n{stderr}");
    let warnings = remote_warnings(&stderr).len();
    assert!(
        warnings <= 1,
        "{name}: more than one remote warning:\n{stderr}"
    );
    assert_eq!(
        distrib(&root),
        s.bytes,
        "{name}: other bytes than the seeding build's"
    );
    run_ok(&mut dist_command(&root, &store, &["store", "verify"]));
    let all = sources(&manifest);
    let remote_hits = all.values().filter(|(_, remote)| *remote).count();
    assert!(
        !whole || remote_hits == all.len() || warnings == 1,
        "{name}: {remote_hits} of {} from the remote and no warning:\n{stderr}",
        all.len()
    );
    Outcome {
        remote_hits,
        artifacts: all.len(),
        warnings,
        elapsed,
    }
}

/// The remote's per-call timeout in these tests, 2 s: a hanging server costs seconds.
fn timeout_env() -> Vec<(String, String)> {
    vec![("CARGO_DIST_REMOTE_TIMEOUT".into(), "2".into())]
}

fn report(backend: &str, fault: Fault, proxy: &FaultProxy, o: &Outcome) {
    eprintln!(
        "fault-table: {backend} | {fault:?} | connections {} (faulted {}) | {} of {} artifacts from the remote | {} warning(s) | {:.1} s",
        proxy.connections(),
        proxy.faulted(),
        o.remote_hits,
        o.artifacts,
        o.warnings,
        o.elapsed.as_secs_f64()
    );
}

/// Every read-side fault, each on a fresh machine, against one seeded remote on `upstream`.
fn read_faults(backend: &str, url_of: impl Fn(u16) -> String, upstream: u16, faults: &[Fault]) {
    let s = seeded(&url_of(upstream));
    for (i, &fault) in faults.iter().enumerate() {
        let proxy = FaultProxy::start(upstream, fault);
        let o = read_through(&s, &format!("{backend}-{i}"), &url_of(proxy.port), true);
        report(backend, fault, &proxy, &o);
        assert!(
            proxy.connections() > 0,
            "{fault:?}: the build never reached the proxy"
        );
        match fault {
            // Transient faults: the retries get every artifact from the remote.
            Fault::Latency(_)
            | Fault::Unavailable(_)
            | Fault::ResetMidBody(_)
            | Fault::Truncate(_) => {
                assert_eq!(o.remote_hits, o.artifacts, "{backend} {fault:?}");
                assert_eq!(o.warnings, 0, "{backend} {fault:?}");
            }
            // A remote that never answers: one warning, everything built here.
            Fault::Hang | Fault::ResetAll => {
                assert_eq!(o.warnings, 1, "{backend} {fault:?}");
                assert_eq!(o.remote_hits, 0, "{backend} {fault:?}");
            }
        }
    }
}

#[test]
fn webdav_reads_survive_every_fault() {
    let nginx = Nginx::start();
    read_faults(
        "webdav",
        |port| format!("webdav+http://127.0.0.1:{port}/cache"),
        nginx.port,
        &[
            Fault::Latency(Duration::from_millis(40)),
            Fault::Unavailable(3),
            Fault::ResetMidBody(2),
            Fault::Truncate(2),
            Fault::Hang,
            Fault::ResetAll,
        ],
    );
}

#[test]
fn redis_reads_survive_every_fault() {
    let redis = Redis::start();
    read_faults(
        "redis",
        |port| format!("redis://127.0.0.1:{port}/0"),
        redis.port,
        &[
            Fault::Latency(Duration::from_millis(40)),
            Fault::ResetMidBody(2),
            Fault::Truncate(2),
            Fault::Hang,
            Fault::ResetAll,
        ],
    );
}

/// Faults while uploading: the writer's build succeeds, and what reached the remote is whole:
/// `store verify --remote` finds nothing wrong, and a reader gets the right bytes (from the
/// remote, or built locally for what did not get there).
#[test]
fn uploads_through_faults_never_leave_a_corrupt_remote() {
    let nginx = Nginx::start();
    let redis = Redis::start();
    let faults = [Fault::ResetMidBody(3), Fault::Truncate(3), Fault::ResetAll];
    // Each case its own remote: a WebDAV directory, a Redis database.
    for (i, &fault) in faults.iter().enumerate() {
        let webdav = |p: u16| format!("webdav+http://127.0.0.1:{p}/up{i}");
        upload_through("webdav", nginx.port, &webdav, fault);
        let redis_db = |p: u16| format!("redis://127.0.0.1:{p}/{}", i + 1);
        upload_through("redis", redis.port, &redis_db, fault);
    }
}

/// A writer uploads through `fault` to the server on `upstream`; then the server, reached
/// directly, holds nothing corrupt.
fn upload_through(backend: &str, upstream: u16, url_of: &dyn Fn(u16) -> String, fault: Fault) {
    let (fx, _host) = host_app("upload", "uploaded through a fault");
    let (secret, public) = keygen(&fx);
    let proxy = FaultProxy::start(upstream, fault);
    let writer = Access {
        url: url_of(proxy.port),
        signing: Some(secret),
        trusted: vec![],
        read_only: false,
        env: timeout_env(),
    };
    let started = Instant::now();
    let (_, stderr) = build(fx.root(), &fx.store(), &writer);
    assert!(started.elapsed() < BOUND, "{backend} {fault:?}: {stderr}");
    assert!(remote_warnings(&stderr).len() <= 1, "{stderr}");
    drop(proxy);
    // Straight to the server: what got there verifies (`store verify --remote` lists the
    // remote, which Redis cannot; there the reader below checks each object it takes).
    if backend == "webdav" {
        let direct = Access {
            url: url_of(upstream),
            signing: None,
            trusted: vec![public.clone()],
            read_only: true,
            env: vec![],
        };
        let mut verify = dist_command(fx.root(), &fx.store(), &["store", "verify", "--remote"]);
        direct.apply(&mut verify);
        run_ok(&mut verify);
    }
    let s = Seeded {
        bytes: distrib(fx.root()),
        fx,
        public,
    };
    let o = read_through(&s, &format!("{backend}-reader"), &url_of(upstream), false);
    eprintln!(
        "fault-table: {backend} upload | {fault:?} | reader got {} of {} artifacts from the remote, right bytes",
        o.remote_hits, o.artifacts
    );
}
