//! A TCP proxy the tests can cut: the way to make Redis or PostgreSQL "unreachable" for one set of
//! vestibule nodes without stopping the machine's shared services. It runs on its own thread and
//! runtime, so it keeps forwarding while a test blocks (starting a server, for instance).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

pub struct Proxy {
    pub port: u16,
    up: Arc<AtomicBool>,
    cut: Arc<Notify>,
}

impl Proxy {
    /// Listens on an ephemeral loopback port and forwards every connection to `target`
    /// ("host:port").
    pub async fn start(target: &str) -> Proxy {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let port = std_listener.local_addr().expect("addr").port();
        let up = Arc::new(AtomicBool::new(true));
        let cut = Arc::new(Notify::new());
        let target = target.to_string();
        let (up2, cut2) = (up.clone(), cut.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).expect("listener");
                loop {
                    let Ok((mut client, _)) = listener.accept().await else {
                        break;
                    };
                    if !up2.load(Ordering::SeqCst) {
                        // Down: accept and drop at once, as a dead peer would.
                        drop(client);
                        continue;
                    }
                    let target = target.clone();
                    let cut = cut2.clone();
                    tokio::spawn(async move {
                        let Ok(mut server) = TcpStream::connect(&target).await else {
                            return;
                        };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                            _ = cut.notified() => {}
                        }
                    });
                }
            });
        });
        Proxy { port, up, cut }
    }

    /// Drops every open connection and refuses new ones until [`Proxy::restore`].
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.notify_waiters();
    }

    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// "host:port" of a redis:// or postgres:// URL.
pub fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let rest = rest.rsplit_once('@').map(|(_, r)| r).unwrap_or(rest);
    rest.split(['/', '?']).next().unwrap_or(rest).to_string()
}

/// The same URL pointed at the proxy.
pub fn via_proxy(url: &str, proxy: &Proxy) -> String {
    url.replacen(&host_port(url), &format!("127.0.0.1:{}", proxy.port), 1)
}
