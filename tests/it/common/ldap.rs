//! The LDAP test kit: a private OpenLDAP slapd on a free loopback port (checked to be the
//! child's own listener), with its own temporary configuration and data directory, made from the
//! project's files (`tests/ldap/slapd.conf.in` and the tree `tests/ldap/test-tree.ldif`, loaded
//! with slapadd). Tests can stop it, start it
//! again on the same port, and freeze it (SIGSTOP) to play a directory that does not answer.
//!
//! Tests that need slapd carry `#[cfg_attr(not(test_slapd), ignore = …)]`: without slapd installed
//! (build.rs looks) the runner reports them as skipped; under CI=true they run and fail
//! (scripts/ci-install.sh installs Debian's slapd and ldap-utils).
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::repo_root;

pub const BASE: &str = "dc=example,dc=org";
pub const SEARCH_DN: &str = "cn=search,ou=system,dc=example,dc=org";
pub const SEARCH_PASSWORD: &str = "search-secret-7Qx";
pub const ALICE_PASSWORD: &str = "alice-pw-Wonderland1";
pub const BOB_PASSWORD: &str = "bob-pw-CanWeFix2";
pub const CAROL_PASSWORD: &str = "carol-pw-Gone3";
pub const EVE_PASSWORD: &str = "eve-pw-Outside4";
/// The tree's root DN password (in slapd.conf.in), for the secret search.
pub const ROOT_PASSWORD: &str = "admin-secret-ldap";

pub struct Slapd {
    pub port: u16,
    /// The ldaps:// port, when started with [`Slapd::start_tls`].
    pub tls_port: Option<u16>,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

fn find(bin: &str) -> Option<PathBuf> {
    ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join(bin))
        .find(|p| p.exists())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Whether process `pid` holds a socket listening on 127.0.0.1:`port`: the inode of a LISTEN
/// entry for the port in /proc/net/tcp is one of the process's open sockets.
fn listens_on(pid: u32, port: u16) -> bool {
    let local = format!("0100007F:{port:04X}");
    let Ok(table) = std::fs::read_to_string(format!("/proc/{pid}/net/tcp")) else {
        return false;
    };
    let inodes: Vec<String> = table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // sl, local_address, rem_address, st (0A is LISTEN), …, inode at 9.
            (cols.get(1) == Some(&local.as_str()) && cols.get(3) == Some(&"0A"))
                .then(|| cols.get(9).map(|i| format!("socket:[{i}]")))
                .flatten()
        })
        .collect();
    if inodes.is_empty() {
        return false;
    }
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.filter_map(Result::ok)
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .any(|target| inodes.iter().any(|i| target.as_os_str() == i.as_str()))
}

impl Slapd {
    /// Starts a slapd with the test tree; a missing slapd fails.
    pub fn start(test: &str) -> Slapd {
        Slapd::start_with(test, false)
    }

    /// Like [`Slapd::start`], with a certificate from a CA made for this test: it also listens on
    /// ldaps:// and offers StartTLS. The CA is at [`Slapd::ca_file`].
    pub fn start_tls(test: &str) -> Slapd {
        Slapd::start_with(test, true)
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn start_with(test: &str, tls: bool) -> Slapd {
        let (Some(_), Some(slapadd)) = (find("slapd"), find("slapadd")) else {
            panic!("slapd is not installed (needed by {test}); scripts/ci-install.sh installs it");
        };
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("data")).expect("data dir");
        let template = std::fs::read_to_string(repo_root().join("tests/ldap/slapd.conf.in"))
            .expect("tests/ldap/slapd.conf.in");
        let modules = [
            "/usr/lib/ldap",
            "/usr/lib/x86_64-linux-gnu/ldap",
            "/usr/lib/aarch64-linux-gnu/ldap",
        ]
        .into_iter()
        .find(|d| Path::new(d).join("back_mdb.so").exists() || Path::new(d).join("back_mdb.la").exists())
        .unwrap_or("/usr/lib/ldap");
        let tls_lines = if tls {
            make_certificates(dir.path());
            let d = dir.path().display();
            // `security tls=1`: every operation needs TLS, so a client that skips StartTLS on
            // ldap:// is refused rather than served in plain text.
            format!("TLSCACertificateFile {d}/ca.pem\nTLSCertificateFile {d}/server.pem\nTLSCertificateKeyFile {d}/server.key\nsecurity tls=1\n")
        } else {
            String::new()
        };
        let conf = template
            .replace("@TLS@", &tls_lines)
            .replace("@DIR@", &dir.path().display().to_string())
            .replace("@SCHEMA@", "/etc/ldap/schema")
            .replace("@MODULES@", modules);
        std::fs::write(dir.path().join("slapd.conf"), conf).expect("write slapd.conf");
        let out = Command::new(slapadd)
            .arg("-f")
            .arg(dir.path().join("slapd.conf"))
            .arg("-l")
            .arg(repo_root().join("tests/ldap/test-tree.ldif"))
            .output()
            .expect("run slapadd");
        assert!(
            out.status.success(),
            "slapadd failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut slapd = Slapd {
            port: 0,
            tls_port: None,
            dir,
            child: None,
        };
        // A port found free may be taken by another test before slapd binds it: then slapd
        // exits, and the next attempt takes a fresh port.
        for _ in 0..20 {
            slapd.port = free_port();
            slapd.tls_port = tls.then(free_port);
            if slapd.try_start(Duration::from_secs(20)) {
                return slapd;
            }
        }
        panic!("slapd could not listen on any of 20 free ports");
    }

    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// Starts slapd again on the same ports and data (vestibule knows its URL), and waits until
    /// it listens; while the ports are still held (just after a stop), it tries again.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "slapd is already running");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.try_start(Duration::from_secs(20)) {
            assert!(
                Instant::now() < deadline,
                "slapd kept exiting on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Starts slapd on the configured ports and waits until the child itself listens on all of
    /// them (a listener of another process on a port does not count). `false` when it exits
    /// first, as it does when a port is taken.
    fn try_start(&mut self, patience: Duration) -> bool {
        let slapd = find("slapd").expect("slapd");
        let mut child = Command::new(&slapd)
            .arg("-f")
            .arg(self.dir.path().join("slapd.conf"))
            .arg("-h")
            .arg(match self.tls_port {
                Some(t) => format!("ldap://127.0.0.1:{}/ ldaps://127.0.0.1:{t}/", self.port),
                None => format!("ldap://127.0.0.1:{}/", self.port),
            })
            .args(["-d", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start slapd");
        let ports: Vec<u16> = std::iter::once(self.port).chain(self.tls_port).collect();
        let deadline = Instant::now() + patience;
        loop {
            if ports.iter().all(|&p| listens_on(child.id(), p)) {
                self.child = Some(child);
                return true;
            }
            if let Ok(Some(_)) = child.try_wait() {
                return false;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("slapd did not start on ports {ports:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops slapd (SIGTERM) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            self.signal("-CONT");
            let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
            let _ = c.wait();
        }
    }

    fn signal(&self, sig: &str) {
        if let Some(c) = &self.child {
            let _ = Command::new("kill").args([sig, &c.id().to_string()]).status();
        }
    }

    /// Freezes slapd: connections are accepted by the kernel but nothing answers.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    /// The `VESTIBULE_LDAP_*` settings for this directory, with the tests' group map and a
    /// filter that leaves out disabled users; short timeouts so that failures answer quickly.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("VESTIBULE_LDAP_URL", self.url()),
            ("VESTIBULE_LDAP_BIND_DN", SEARCH_DN.into()),
            ("VESTIBULE_LDAP_BIND_PASSWORD", SEARCH_PASSWORD.into()),
            ("VESTIBULE_LDAP_SEARCH_BASE", format!("ou=people,{BASE}")),
            (
                "VESTIBULE_LDAP_USER_FILTER",
                "(&(objectClass=inetOrgPerson)(uid={username})(!(employeeType=disabled)))".into(),
            ),
            ("VESTIBULE_LDAP_GROUP_BASE", format!("ou=groups,{BASE}")),
            (
                "VESTIBULE_LDAP_GROUP_MAP",
                format!("cn=admins,ou=groups,{BASE}=System Administrators; analysts=Analysts"),
            ),
            ("VESTIBULE_LDAP_CONNECT_TIMEOUT_SECS", "2".into()),
            ("VESTIBULE_LDAP_OPERATION_TIMEOUT_SECS", "1".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

/// A CA and a server certificate for 127.0.0.1 signed by it, made with the openssl command.
pub fn make_certificates(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run openssl (scripts/ci-install.sh installs it)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    std::fs::write(dir.join("san.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n").expect("san.cnf");
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=vestibule test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "san.cnf",
    ]);
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.thaw();
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
#[cfg_attr(not(test_slapd), ignore = "slapd is not installed (scripts/ci-install.sh)")]
fn a_listener_of_another_process_is_not_taken_for_slapd() {
    let mut slapd = Slapd::start("common::ldap::a_listener_of_another_process_is_not_taken_for_slapd");
    slapd.stop();
    let other = TcpListener::bind("127.0.0.1:0").expect("bind");
    slapd.port = other.local_addr().expect("addr").port();
    assert!(
        !slapd.try_start(Duration::from_secs(20)),
        "port {} is this test's, not slapd's",
        slapd.port
    );
}
