//! The LDAP test kit: a private OpenLDAP slapd on a free loopback port, with its own temporary
//! configuration and data directory, made from the project's files (`tests/ldap/slapd.conf.in`
//! and the tree `tests/ldap/test-tree.ldif`, loaded with slapadd). Tests can stop it, start it
//! again on the same port, and freeze it (SIGSTOP) to play a directory that does not answer.
//!
//! Without slapd installed the LDAP tests print SKIPPED, unless CI=true, where they fail
//! (scripts/ci-install.sh installs Debian's slapd and ldap-utils).
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
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

impl Slapd {
    /// Starts a slapd with the test tree, or `None` (after a SKIPPED line) when slapd is missing
    /// outside CI.
    pub fn start(test: &str) -> Option<Slapd> {
        Slapd::start_with(test, false)
    }

    /// Like [`Slapd::start`], with a certificate from a CA made for this test: it also listens on
    /// ldaps:// and offers StartTLS. The CA is at [`Slapd::ca_file`].
    pub fn start_tls(test: &str) -> Option<Slapd> {
        Slapd::start_with(test, true)
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn start_with(test: &str, tls: bool) -> Option<Slapd> {
        let (Some(_), Some(slapadd)) = (find("slapd"), find("slapadd")) else {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("slapd is not installed (needed by {test}); scripts/ci-install.sh installs it");
            }
            eprintln!("SKIPPED {test}: slapd is not installed (bash scripts/ci-install.sh)");
            return None;
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
            format!("TLSCACertificateFile {d}/ca.pem\nTLSCertificateFile {d}/server.pem\nTLSCertificateKeyFile {d}/server.key\n")
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
            port: free_port(),
            tls_port: tls.then(free_port),
            dir,
            child: None,
        };
        slapd.start_again();
        Some(slapd)
    }

    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// Starts slapd (again) on the same port and data, and waits until it accepts connections.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "slapd is already running");
        let slapd = find("slapd").expect("slapd");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
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
            // Ready when it accepts a connection; if it exited (port still held after a stop),
            // try again until the deadline.
            loop {
                if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                    self.child = Some(child);
                    return;
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    panic!("slapd did not start on port {}", self.port);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            assert!(
                Instant::now() < deadline,
                "slapd kept exiting on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(200));
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
fn make_certificates(dir: &Path) {
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
