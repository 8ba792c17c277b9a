//! Slow clients for figure g): connections that trickle a request header a byte at a time and
//! connections kept alive doing nothing, held open (re-opened when the server closes them) while
//! the session check runs, as an attacker holding a server's connections would.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub struct SlowClients {
    stop: Arc<AtomicBool>,
    /// Connections the server closed (and that were opened again).
    pub closed: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

/// One byte of a request that never ends, every tick.
const TRICKLE: &[u8] = b"GET /api/sessions HTTP/1.1\r\nHost: bench\r\nX-Slow: ";

fn open(addr: &str, idle: bool) -> Option<TcpStream> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_nonblocking(false).ok()?;
    s.set_read_timeout(Some(Duration::from_millis(1))).ok()?;
    if idle {
        // One whole request, then nothing: a kept-alive connection left idle.
        s.write_all(b"GET /api/status HTTP/1.1\r\nHost: bench\r\n\r\n")
            .ok()?;
    }
    Some(s)
}

impl SlowClients {
    /// `trickling` connections sending a header byte every 200 ms and `idle` kept-alive ones, on
    /// `addr` (host:port).
    pub fn start(addr: &str, trickling: usize, idle: usize) -> SlowClients {
        let stop = Arc::new(AtomicBool::new(false));
        let closed = Arc::new(AtomicU64::new(0));
        let (s, c, addr) = (stop.clone(), closed.clone(), addr.to_owned());
        let thread = std::thread::spawn(move || {
            let mut conns: Vec<(Option<TcpStream>, bool, usize)> = (0..trickling)
                .map(|_| (open(&addr, false), false, 0))
                .chain((0..idle).map(|_| (open(&addr, true), true, 0)))
                .collect();
            let mut buf = [0u8; 4096];
            while !s.load(Ordering::Relaxed) {
                for (conn, idle, sent) in conns.iter_mut() {
                    let alive = match conn {
                        Some(stream) if *idle => match stream.read(&mut buf) {
                            Ok(0) => false,
                            Ok(_) => true,
                            Err(e) => matches!(
                                e.kind(),
                                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                            ),
                        },
                        Some(stream) => {
                            let byte = TRICKLE.get(*sent).copied().unwrap_or(b'x');
                            *sent += 1;
                            stream.write_all(&[byte]).is_ok()
                        }
                        None => false,
                    };
                    if !alive {
                        c.fetch_add(1, Ordering::Relaxed);
                        *conn = open(&addr, *idle);
                        *sent = 0;
                    }
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        SlowClients {
            stop,
            closed,
            thread: Some(thread),
        }
    }
}

impl Drop for SlowClients {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
