//! The HTTP edge against slow and idle clients (issue 14): a header sent too slowly, a kept-alive
//! connection left idle, answers the client does not read and a body sent too slowly are cut off
//! after their timeouts, while clients that behave are served throughout; connections over the cap are closed at once without harm to
//! the established ones; a cap the open-file limit cannot hold fails the start.
//!
//! The timeouts are set to a few seconds; the checks are loose (closed within the timeout and 3 s
//! more, and not long before the timeout), never measurements.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::ops::{parse_prometheus, sample};
use crate::common::{client, TestServer};

/// What the checks allow beyond a timeout before calling a connection not closed.
const SLACK: Duration = Duration::from_secs(3);

/// Reads (and drops) whatever comes until the server closes the connection (end of stream or a
/// reset); how long that took, or `None` when it is still open after `within`.
async fn closed_within(s: &mut TcpStream, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    let read_until_closed = async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, read_until_closed)
        .await
        .ok()
        .map(|()| start.elapsed())
}

/// One HTTP/1.1 answer read from a kept-alive connection: its status, head (lower case) and body
/// (by `Content-Length`). `None` when the connection ends first.
async fn read_answer(s: &mut TcpStream) -> Option<(u16, String, Vec<u8>)> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_ascii_lowercase();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < length {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => body.extend_from_slice(&buf[..n]),
        }
    }
    Some((status, head, body))
}

/// `GET /api/status` on a kept-alive connection; its status, `None` when the connection is gone.
async fn get_status_on(s: &mut TcpStream) -> Option<u16> {
    s.write_all(b"GET /api/status HTTP/1.1\r\nHost: vestibule\r\n\r\n")
        .await
        .ok()?;
    read_answer(s).await.map(|(status, _, _)| status)
}

async fn metrics(server: &TestServer) -> Vec<(String, f64)> {
    let text = client()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    parse_prometheus(&text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_sent_too_slowly_is_cut_off_while_others_are_served() {
    let header = Duration::from_secs(1);
    let server = TestServer::start_with(&[
        ("VESTIBULE_SERVER_HEADER_READ_TIMEOUT_SECS", "1"),
        ("VESTIBULE_SERVER_IDLE_TIMEOUT_SECS", "30"),
    ]);
    // Slow clients: a few bytes of a header, then one byte every 300 ms for as long as they may,
    // or a few bytes and then nothing. Neither ever finishes its header.
    let mut slow = Vec::new();
    for i in 0..6 {
        let addr = server.addr();
        slow.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(&addr).await.unwrap();
            let start = Instant::now();
            s.write_all(b"GET /api/sta").await.unwrap();
            let (mut reader, mut writer) = s.into_split();
            let trickle = async move {
                for _ in 0..if i % 2 == 0 { 100 } else { 2 } {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    if writer.write_all(b"t").await.is_err() {
                        break;
                    }
                }
                // Kept open (not half-closed) until the server closes it.
                std::future::pending::<()>().await;
            };
            let closed = async {
                let mut buf = [0u8; 256];
                loop {
                    match reader.read(&mut buf).await {
                        Ok(0) | Err(_) => return start.elapsed(),
                        Ok(_) => {}
                    }
                }
            };
            tokio::select! {
                elapsed = closed => Some(elapsed),
                () = trickle => None,
                () = tokio::time::sleep(header + SLACK) => None,
            }
        }));
    }
    // A client that behaves, on its own kept-alive connections, meanwhile.
    let c = client();
    let served_until = Instant::now() + header + Duration::from_secs(2);
    let mut served = 0;
    while Instant::now() < served_until {
        let r = c.get(server.url("/api/status")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        served += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served > 10, "only {served} requests served");
    for (i, task) in slow.into_iter().enumerate() {
        let elapsed = task.await.unwrap();
        let elapsed =
            elapsed.unwrap_or_else(|| panic!("slow header {i} was still open after {:?}", header + SLACK));
        assert!(
            elapsed >= header / 2,
            "slow header {i} closed after {elapsed:?}, long before the timeout"
        );
    }
    let m = metrics(&server).await;
    let cut = sample(
        &m,
        "vestibule_connections_timed_out_total{reason=\"header_timeout\"}",
    );
    assert!(cut.is_some_and(|n| n >= 6.0), "{cut:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_kept_alive_connection_is_closed_and_a_busy_one_is_not() {
    let idle = Duration::from_secs(4);
    let server = TestServer::start_with(&[
        ("VESTIBULE_SERVER_HEADER_READ_TIMEOUT_SECS", "1"),
        ("VESTIBULE_SERVER_IDLE_TIMEOUT_SECS", "4"),
    ]);
    let addr = server.addr();
    // Busy: a request every 500 ms on one connection, for longer than the idle timeout.
    let busy = tokio::spawn(async move {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        let until = Instant::now() + idle + Duration::from_secs(2);
        let mut served = 0;
        while Instant::now() < until {
            assert_eq!(
                get_status_on(&mut s).await,
                Some(200),
                "the busy connection failed after {served} requests"
            );
            served += 1;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });

    let mut s = TcpStream::connect(server.addr()).await.unwrap();
    assert_eq!(get_status_on(&mut s).await, Some(200));
    // Idle for longer than the header timeout: the wait for a next request is the idle timeout's.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        get_status_on(&mut s).await,
        Some(200),
        "a connection idle for less than the idle timeout was closed"
    );
    let elapsed = closed_within(&mut s, idle + SLACK)
        .await
        .unwrap_or_else(|| panic!("an idle connection was still open after {:?}", idle + SLACK));
    assert!(elapsed >= idle / 2, "an idle connection closed after {elapsed:?}");
    busy.await.unwrap();

    let m = metrics(&server).await;
    let closed = sample(
        &m,
        "vestibule_connections_timed_out_total{reason=\"idle_timeout\"}",
    );
    assert!(closed.is_some_and(|n| n >= 1.0), "{closed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_its_answers_is_cut_off() {
    let idle = Duration::from_secs(2);
    let server = TestServer::start_with(&[("VESTIBULE_SERVER_IDLE_TIMEOUT_SECS", "2")]);
    // A small receive window and 200 pipelined requests for the 80 kB OpenAPI document, never
    // read: the server's writes stall once the socket buffers are full.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut s = socket.connect(server.addr().parse().unwrap()).await.unwrap();
    let one = "GET /api-docs/openapi.json HTTP/1.1\r\nHost: vestibule\r\n\r\n";
    s.write_all(one.repeat(200).as_bytes()).await.unwrap();
    let document_len = client()
        .get(server.url("/api-docs/openapi.json"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .len();
    tokio::time::sleep(idle + SLACK).await;
    // What the buffers hold, then the end: the server gave up on the rest.
    let mut answers = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 65536];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => answers.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the connection that read nothing was kept open");
    assert!(
        answers.len() < 200 * document_len,
        "all {} bytes were answered",
        answers.len()
    );
    let m = metrics(&server).await;
    let cut = sample(
        &m,
        "vestibule_connections_timed_out_total{reason=\"write_timeout\"}",
    );
    assert!(cut.is_some_and(|n| n >= 1.0), "{cut:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_sent_too_slowly_is_answered_408_and_closed() {
    let body_timeout = Duration::from_secs(1);
    let server = TestServer::start_with(&[("VESTIBULE_SERVER_BODY_READ_TIMEOUT_SECS", "1")]);
    for (path, trickle) in [
        ("/api/auth/login", false),
        ("/api/auth/login", true),
        ("/api/rest/2.0/auth/session/login", true),
    ] {
        let s = TcpStream::connect(server.addr()).await.unwrap();
        let start = Instant::now();
        let (mut reader, mut writer) = s.into_split();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: vestibule\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"loginMode\""
        );
        writer.write_all(head.as_bytes()).await.unwrap();
        // A byte every 200 ms would take 200 s; the deadline is for the whole body.
        let writing = tokio::spawn(async move {
            if trickle {
                for _ in 0..1000 {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    if writer.write_all(b" ").await.is_err() {
                        break;
                    }
                }
            }
            std::future::pending::<()>().await;
        });
        let mut answer = Vec::new();
        let read = tokio::time::timeout(body_timeout + SLACK, async {
            let mut buf = [0u8; 4096];
            loop {
                match reader.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => answer.extend_from_slice(&buf[..n]),
                }
            }
        })
        .await;
        writing.abort();
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            read.is_ok(),
            "{path} (trickle: {trickle}): not answered and closed within {:?}: {answer}",
            body_timeout + SLACK
        );
        let elapsed = start.elapsed();
        assert!(elapsed >= body_timeout / 2, "{path}: answered after {elapsed:?}");
        assert!(
            answer.starts_with("HTTP/1.1 408 "),
            "{path} (trickle: {trickle}): {answer}"
        );
        let lower = answer.to_ascii_lowercase();
        assert!(lower.contains("\r\nconnection: close\r\n"), "{answer}");
        let body = &answer[answer.find("\r\n\r\n").unwrap() + 4..];
        let body: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
        if path.starts_with("/api/rest/2.0") {
            assert_eq!(body["error"]["message"]["code"], 10002, "{body}");
        } else {
            assert_eq!(body["code"], "ERR006", "{body}");
        }
    }
    let m = metrics(&server).await;
    let timeouts = sample(&m, "vestibule_request_body_timeouts_total");
    assert!(timeouts.is_some_and(|n| n >= 3.0), "{timeouts:?}");
    let answered = sample(
        &m,
        "vestibule_http_requests_total{route=\"/api/auth/login\",method=\"POST\",status=\"408\"}",
    );
    assert_eq!(answered, Some(2.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_are_closed_at_once_and_the_others_served() {
    let server = TestServer::start_with(&[
        ("VESTIBULE_SERVER_MAX_CONNECTIONS", "20"),
        ("VESTIBULE_SERVER_HEADER_READ_TIMEOUT_SECS", "60"),
        ("VESTIBULE_SERVER_IDLE_TIMEOUT_SECS", "60"),
    ]);
    // One established connection that keeps working, and 19 idle ones: 20 open.
    let mut established = TcpStream::connect(server.addr()).await.unwrap();
    assert_eq!(get_status_on(&mut established).await, Some(200));
    let mut idle = Vec::new();
    for _ in 0..19 {
        idle.push(TcpStream::connect(server.addr()).await.unwrap());
    }
    // The server takes connections in the order they came, so these are the 21st and on.
    for i in 0..3 {
        let mut over = TcpStream::connect(server.addr()).await.unwrap();
        // A request, so that an open connection would answer it.
        let _ = over
            .write_all(b"GET /api/status HTTP/1.1\r\nHost: vestibule\r\n\r\n")
            .await;
        let mut answer = Vec::new();
        let read = tokio::time::timeout(SLACK, over.read_to_end(&mut answer)).await;
        assert!(read.is_ok(), "connection {} over the cap was kept open", 21 + i);
        assert!(
            answer.is_empty(),
            "connection {} over the cap was answered: {}",
            21 + i,
            String::from_utf8_lossy(&answer)
        );
        assert_eq!(
            get_status_on(&mut established).await,
            Some(200),
            "the established connection failed while over the cap"
        );
    }
    // The idle ones go: new connections are served again (once the server has seen them close).
    drop(idle);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut s = TcpStream::connect(server.addr()).await.unwrap();
        if get_status_on(&mut s).await == Some(200) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no new connection was served after the idle ones closed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(get_status_on(&mut established).await, Some(200));
    let m = metrics(&server).await;
    let refused = sample(&m, "vestibule_connections_refused_total");
    assert!(refused.is_some_and(|n| n >= 3.0), "{refused:?}");
    assert!(
        server.stderr().contains("connection cap reached"),
        "{}",
        server.stderr()
    );
}

#[test]
fn a_cap_the_open_file_limit_cannot_hold_fails_the_start() {
    let dir = tempfile::tempdir().unwrap();
    // More than any open-file limit (Linux caps it at fs.nr_open, 2^30 at most).
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vestibule"))
        .env_clear()
        .env("VESTIBULE_SERVER_MAX_CONNECTIONS", "1000000000000")
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server started with server.max_connections above the open-file limit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("server.max_connections: 1000000000000 is more than the open-file limit allows"),
        "{stderr}"
    );
    assert!(stderr.contains("ulimit -n"), "{stderr}");
}
