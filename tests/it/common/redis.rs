//! A `redis-server` of a test's own, on a free loopback port and without persistence, for tests
//! that kill and restart Redis: the machine's shared Redis stays up for the other tests.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// No RDB snapshots and no AOF: a restart loses everything, as a Redis deployed without
/// persistence does.
pub struct OwnRedis {
    pub port: u16,
    bin: PathBuf,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

/// The installed `redis-server`; a panic naming the set-up step when it is missing (tests that
/// call this are ignored where build.rs did not find it, and run under CI=true).
pub fn redis_server_bin(test: &str) -> PathBuf {
    ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join("redis-server"))
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!("redis-server is missing (needed by {test}; installed by bash scripts/ci-install.sh)")
        })
}

impl OwnRedis {
    /// Starts on a free loopback port and waits until it answers PING.
    pub fn start(test: &str) -> OwnRedis {
        let bin = redis_server_bin(test);
        // Another process may take the port between this probe and Redis binding it: tried anew.
        for _ in 0..10 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let mut redis = OwnRedis {
                port,
                bin: bin.clone(),
                dir: tempfile::tempdir().expect("temp dir"),
                child: None,
            };
            if redis.spawn().is_ok() {
                return redis;
            }
        }
        panic!("redis-server did not start on any free port");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) -> Result<(), String> {
        let mut child = Command::new(&self.bin)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.answers_ping() {
            if matches!(child.try_wait(), Ok(Some(_))) || Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("redis-server did not start on port {}", self.port));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.child = Some(child);
        Ok(())
    }

    /// A PING answered with PONG.
    pub fn answers_ping(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
        let mut answer = [0u8; 7];
        s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut answer).is_ok() && &answer == b"+PONG\r\n"
    }

    /// SIGKILL: every client's connection is cut, as by a crash.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts again on the same port (so the same URL), empty; returns once it answers PING.
    pub fn start_again(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Err(e) = self.spawn() {
            assert!(Instant::now() < deadline, "{e}");
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}
