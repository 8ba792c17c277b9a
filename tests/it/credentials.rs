//! One credential path for both dialects: a request with the right token and a wrong
//! `JSESSIONID` is refused and does not keep the session alive, whichever dialect it came
//! through.

use std::time::{Duration, Instant};

use crate::common::mstr::{short_timeout_server, status_of, LIB};
use crate::common::{client, mstr_login, ADMIN_PASSWORD};

/// Sends `PUT /api/sessions` (MicroStrategy keep-alive) and ThoughtSpot's `session/info` with the
/// session's token and a wrong cookie for `span`, every 300 ms; each must be refused.
async fn wrong_cookie_requests(base: &str, token: &str, span: Duration) {
    // A client without a cookie jar: the only cookie sent is the wrong one.
    let c = reqwest::Client::new();
    let start = Instant::now();
    while start.elapsed() < span {
        let resp = c
            .put(format!("{base}{LIB}/sessions"))
            .header("X-MSTR-AuthToken", token)
            .header("Cookie", "JSESSIONID=not-the-sessions-cookie")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "MicroStrategy keep-alive with a wrong cookie");
        let resp = c
            .get(format!("{base}/callosum/v1/tspublic/v1/session/info"))
            .header("Authorization", format!("Bearer {token}"))
            .header("Cookie", "JSESSIONID=not-the-sessions-cookie")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "ThoughtSpot bearer with a wrong cookie");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn a_wrong_cookie_does_not_extend_the_session() {
    // Sessions live 2 s from their last use.
    let server = short_timeout_server("2", "3");
    let s = mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    let url = server.url(&format!("{LIB}/sessions"));
    assert_eq!(status_of(&s, &url).await, 200);
    let used = Instant::now();
    // Wrong-cookie requests for 2.6 s after the last real use: had any of them touched the
    // session, it would still be alive at the end.
    wrong_cookie_requests(&server.base, &s.token, Duration::from_millis(2600)).await;
    assert!(used.elapsed() > Duration::from_secs(2));
    assert_eq!(status_of(&s, &url).await, 401, "the session outlived its timeout");
}

#[tokio::test]
async fn the_right_cookie_keeps_the_session_alive() {
    // The other side of the test above: the same requests with the right cookie do extend it.
    let server = short_timeout_server("2", "3");
    let s = mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    let url = server.url(&format!("{LIB}/sessions"));
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(2600) {
        let resp = s.put(&url).send().await.unwrap();
        assert_eq!(resp.status(), 204);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(status_of(&s, &url).await, 200);
    // The cookie jar's JSESSIONID is what admits it: the token alone (cookies required) does not.
    let bare = client()
        .get(&url)
        .header("X-MSTR-AuthToken", &s.token)
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 401);
}
