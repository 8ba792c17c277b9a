//! Against a forged provider: an axum server serving discovery, a JWKS of the test keys
//! (tests/fixtures) and a token endpoint answering with whatever ID token the test minted. The
//! bad tokens a real provider never issues must each be refused as `BadToken`; the good ones
//! (and a key rotation) accepted.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use vestibule_oidc::{Identity, OidcError, OidcProvider};

use crate::common::{provider, repo_root, settings, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI};

const NONCE: &str = "the-nonce-of-this-sign-in";
const KID_1: &str = "test-key-1";
const KID_2: &str = "test-key-2";

fn fixture(name: &str) -> Vec<u8> {
    let path = repo_root().join("crates/oidc/tests/fixtures").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn jwk(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).expect("JWK fixture")
}

/// What the forged provider serves and what it saw.
struct Forged {
    issuer: String,
    auth_methods: Value,
    jwks: Mutex<Value>,
    jwks_fetches: AtomicUsize,
    id_token: Mutex<String>,
    /// The last token request: its Authorization header and body.
    token_request: Mutex<(Option<String>, String)>,
}

struct Idp {
    state: Arc<Forged>,
    provider: OidcProvider,
}

impl Idp {
    async fn start() -> Idp {
        Idp::start_with(Value::Null).await
    }

    /// `auth_methods`: the discovery's `token_endpoint_auth_methods_supported` (null: absent).
    async fn start_with(auth_methods: Value) -> Idp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("address");
        let state = Arc::new(Forged {
            issuer: format!("http://{addr}"),
            auth_methods,
            jwks: Mutex::new(json!({ "keys": [jwk("test-rsa-key.jwk.json")] })),
            jwks_fetches: AtomicUsize::new(0),
            id_token: Mutex::new(String::new()),
            token_request: Mutex::new((None, String::new())),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/token", post(token))
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let provider = provider(&settings(&state.issuer));
        Idp { state, provider }
    }

    fn jwks_fetches(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }

    /// The sign-in's end with `id_token` as the token endpoint's answer.
    async fn finish(&self, id_token: String) -> Result<Identity, OidcError> {
        *self.state.id_token.lock().unwrap() = id_token;
        self.provider
            .finish(REDIRECT_URI, "any-code", NONCE, "any-verifier")
            .await
    }

    async fn refused(&self, id_token: String) -> String {
        match self.finish(id_token).await {
            Err(OidcError::BadToken(reason)) => reason,
            other => panic!("expected BadToken, got {other:?}"),
        }
    }

    /// Claims of a good ID token for alice.
    fn claims(&self) -> Value {
        let now = now();
        json!({
            "iss": self.state.issuer,
            "sub": "u-1",
            "aud": CLIENT_ID,
            "exp": now + 300,
            "iat": now,
            "nonce": NONCE,
            "preferred_username": "alice",
            "name": "Alice Example",
            "email": "alice@example.com",
            "email_verified": true,
            "groups": ["analysts", "admins"],
        })
    }
}

async fn discovery(State(s): State<Arc<Forged>>) -> Json<Value> {
    let mut d = json!({
        "issuer": s.issuer,
        "authorization_endpoint": format!("{}/auth", s.issuer),
        "token_endpoint": format!("{}/token", s.issuer),
        "jwks_uri": format!("{}/jwks", s.issuer),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        // Advertised to show that the provider's list is not the allowlist.
        "id_token_signing_alg_values_supported": ["RS256", "HS256", "none"],
    });
    if !s.auth_methods.is_null() {
        d["token_endpoint_auth_methods_supported"] = s.auth_methods.clone();
    }
    Json(d)
}

async fn jwks(State(s): State<Arc<Forged>>) -> Json<Value> {
    s.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    Json(s.jwks.lock().unwrap().clone())
}

async fn token(State(s): State<Arc<Forged>>, headers: HeaderMap, body: String) -> Json<Value> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    *s.token_request.lock().unwrap() = (auth, body);
    Json(json!({
        "access_token": "forged-access-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": s.id_token.lock().unwrap().clone(),
    }))
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

fn sign(claims: &Value, key_pem: &str, kid: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    let key = EncodingKey::from_rsa_pem(&fixture(key_pem)).expect("test key");
    jsonwebtoken::encode(&header, claims, &key).expect("sign")
}

fn signed(claims: &Value) -> String {
    sign(claims, "test-rsa-key.pem", KID_1)
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).expect("JSON"))
}

#[tokio::test]
async fn a_good_token_gives_the_identity() {
    let idp = Idp::start().await;
    let token = signed(&idp.claims());
    let identity = idp.finish(token.clone()).await.expect("good token");
    // The ID token is kept as the provider signed it: a logout's hint.
    assert_eq!(identity.id_token, token);
    assert_eq!(
        identity,
        Identity {
            provider: "test".into(),
            subject: "u-1".into(),
            username: "alice".into(),
            full_name: Some("Alice Example".into()),
            email: Some("alice@example.com".into()),
            groups: vec!["analysts".into(), "admins".into()],
            id_token: token.clone(),
        }
    );
    // client_secret_basic when discovery lists no methods.
    let (auth, body) = idp.state.token_request.lock().unwrap().clone();
    let basic = STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    assert_eq!(auth, Some(format!("Basic {basic}")));
    assert!(!body.contains("client_secret"), "{body}");
    assert!(body.contains("code_verifier=any-verifier"), "{body}");
    // Discovery and the keys were fetched once, and are kept.
    idp.finish(signed(&idp.claims())).await.expect("good token");
    assert_eq!(idp.jwks_fetches(), 1);
}

#[tokio::test]
async fn the_authorization_url_asks_for_a_code_with_pkce() {
    let idp = Idp::start().await;
    let start = idp.provider.start(REDIRECT_URI).await.expect("start");
    let url = reqwest::Url::parse(&start.url).expect("URL");
    assert_eq!(url.path(), "/auth");
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["redirect_uri"], REDIRECT_URI);
    assert_eq!(q["scope"], "openid profile email groups");
    assert_eq!(q["state"], start.state);
    assert_eq!(q["nonce"], start.nonce);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert!(start.pkce_verifier.len() >= 43);
    // Each start is a fresh secret set.
    let again = idp.provider.start(REDIRECT_URI).await.expect("start");
    assert_ne!(again.state, start.state);
    assert_ne!(again.nonce, start.nonce);
    assert_ne!(again.pkce_verifier, start.pkce_verifier);
}

#[tokio::test]
async fn client_secret_post_when_only_that_is_offered() {
    let idp = Idp::start_with(json!(["client_secret_post", "private_key_jwt"])).await;
    idp.finish(signed(&idp.claims())).await.expect("good token");
    let (auth, body) = idp.state.token_request.lock().unwrap().clone();
    assert_eq!(auth, None);
    assert!(body.contains(&format!("client_secret={CLIENT_SECRET}")), "{body}");
    assert!(body.contains(&format!("client_id={CLIENT_ID}")), "{body}");
}

#[tokio::test]
async fn a_tampered_signature_is_refused() {
    let idp = Idp::start().await;
    let token = signed(&idp.claims());
    let (head, sig) = token.rsplit_once('.').expect("three parts");
    let mut sig: Vec<u8> = sig.bytes().collect();
    let i = sig.len() / 2;
    sig[i] = if sig[i] == b'A' { b'B' } else { b'A' };
    let tampered = format!("{head}.{}", String::from_utf8(sig).expect("ASCII"));
    let reason = idp.refused(tampered).await;
    assert!(reason.contains("bad signature"), "{reason}");
    // The claims changed under the original signature.
    let mut claims = idp.claims();
    claims["preferred_username"] = json!("mallory");
    let forged_payload = format!(
        "{}.{}.{}",
        token.split('.').next().expect("header"),
        b64(&claims),
        token.rsplit('.').next().expect("signature")
    );
    let reason = idp.refused(forged_payload).await;
    assert!(reason.contains("bad signature"), "{reason}");
}

#[tokio::test]
async fn another_audience_is_refused() {
    let idp = Idp::start().await;
    let mut claims = idp.claims();
    claims["aud"] = json!("someone-else");
    let reason = idp.refused(signed(&claims)).await;
    assert!(reason.contains("aud"), "{reason}");
}

#[tokio::test]
async fn several_audiences_need_our_azp() {
    let idp = Idp::start().await;
    let mut claims = idp.claims();
    claims["aud"] = json!([CLIENT_ID, "another-client"]);
    let reason = idp.refused(signed(&claims)).await;
    assert!(reason.contains("several audiences"), "{reason}");
    claims["azp"] = json!("another-client");
    let reason = idp.refused(signed(&claims)).await;
    assert!(reason.contains("azp"), "{reason}");
    claims["azp"] = json!(CLIENT_ID);
    idp.finish(signed(&claims))
        .await
        .expect("several audiences, azp ours");
    // An azp of another client is refused with one audience too.
    let mut claims = idp.claims();
    claims["azp"] = json!("another-client");
    idp.refused(signed(&claims)).await;
}

#[tokio::test]
async fn another_issuer_is_refused() {
    let idp = Idp::start().await;
    let mut claims = idp.claims();
    claims["iss"] = json!("https://evil.example");
    let reason = idp.refused(signed(&claims)).await;
    assert!(reason.contains("iss"), "{reason}");
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let idp = Idp::start().await;
    let mut claims = idp.claims();
    claims["iat"] = json!(now() - 600);
    claims["exp"] = json!(now() - 10);
    let reason = idp.refused(signed(&claims)).await;
    assert!(reason.contains("expired"), "{reason}");
}

#[tokio::test]
async fn an_iat_in_the_future_is_refused_beyond_the_skew() {
    let idp = Idp::start().await;
    let mut claims = idp.claims();
    claims["iat"] = json!(now() + 3600);
    claims["exp"] = json!(now() + 7200);
    let reason = idp.refused(signed(&claims)).await;
    assert!(reason.contains("future"), "{reason}");
    // Within 60 s: clocks disagree a little.
    claims["iat"] = json!(now() + 30);
    idp.finish(signed(&claims)).await.expect("iat 30 s ahead");
}

#[tokio::test]
async fn a_wrong_or_missing_nonce_is_refused() {
    let idp = Idp::start().await;
    let mut claims = idp.claims();
    claims["nonce"] = json!("another-sign-in");
    let reason = idp.refused(signed(&claims)).await;
    assert!(reason.contains("nonce"), "{reason}");
    claims.as_object_mut().expect("object").remove("nonce");
    let reason = idp.refused(signed(&claims)).await;
    assert!(reason.contains("nonce"), "{reason}");
}

#[tokio::test]
async fn an_unsigned_token_is_refused() {
    let idp = Idp::start().await;
    let claims = idp.claims();
    let none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&claims));
    let reason = idp.refused(none).await;
    assert!(reason.contains("No signature"), "{reason}");
    let none_kid = format!("{}.{}.", b64(&json!({"alg": "none", "kid": KID_1})), b64(&claims));
    let reason = idp.refused(none_kid).await;
    assert!(reason.contains("No signature"), "{reason}");
}

#[tokio::test]
async fn hmac_keyed_with_the_public_key_is_refused() {
    let idp = Idp::start().await;
    let claims = idp.claims();
    for secret in [
        fixture("test-rsa-key.pub.pem"),
        fixture("test-rsa-key.jwk.json"),
        CLIENT_SECRET.as_bytes().to_vec(),
    ] {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(KID_1.into());
        let key = EncodingKey::from_secret(&secret).expect("HMAC key");
        let token = jsonwebtoken::encode(&header, &claims, &key).expect("sign");
        let reason = idp.refused(token).await;
        assert!(reason.contains("HS256"), "{reason}");
    }
}

#[tokio::test]
async fn an_unknown_key_refetches_the_keys_once_then_is_refused() {
    let idp = Idp::start().await;
    let token = sign(&idp.claims(), "test-rsa-key-2.pem", KID_2);
    let reason = idp.refused(token.clone()).await;
    assert!(reason.contains("key"), "{reason}");
    assert_eq!(idp.jwks_fetches(), 2, "discovery's fetch and one refetch");
    // Within the interval, another unknown key costs no request.
    idp.refused(token).await;
    assert_eq!(idp.jwks_fetches(), 2);
    // A known key still works.
    idp.finish(signed(&idp.claims())).await.expect("good token");
}

#[tokio::test]
async fn a_rotated_key_is_picked_up() {
    let idp = Idp::start().await;
    idp.finish(signed(&idp.claims())).await.expect("good token");
    *idp.state.jwks.lock().unwrap() = json!({ "keys": [
        jwk("test-rsa-key.jwk.json"),
        jwk("test-rsa-key-2.jwk.json"),
    ]});
    let token = sign(&idp.claims(), "test-rsa-key-2.pem", KID_2);
    let identity = idp.finish(token).await.expect("token of the new key");
    assert_eq!(identity.username, "alice");
    assert_eq!(idp.jwks_fetches(), 2);
}

#[tokio::test]
async fn a_token_that_is_no_jwt_is_refused() {
    let idp = Idp::start().await;
    for token in ["", "not-a-jwt", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30"] {
        let reason = idp.refused(token.to_string()).await;
        assert!(reason.contains("does not parse"), "{reason}");
    }
}

#[tokio::test]
async fn groups_must_be_strings() {
    let idp = Idp::start().await;
    let mut claims = idp.claims();
    claims["groups"] = json!("admins");
    let reason = idp.refused(signed(&claims)).await;
    assert!(reason.contains("groups"), "{reason}");
    claims["groups"] = json!(["admins", 7]);
    idp.refused(signed(&claims)).await;
    // Missing is no groups.
    claims.as_object_mut().expect("object").remove("groups");
    let identity = idp.finish(signed(&claims)).await.expect("no groups claim");
    assert!(identity.groups.is_empty());
}

#[tokio::test]
async fn a_missing_username_is_refused() {
    let idp = Idp::start().await;
    let mut claims = idp.claims();
    claims
        .as_object_mut()
        .expect("object")
        .remove("preferred_username");
    // The forged provider has no userinfo endpoint to ask.
    let reason = idp.refused(signed(&claims)).await;
    assert!(reason.contains("preferred_username"), "{reason}");
}

#[tokio::test]
async fn an_unverified_email_names_nobody() {
    let idp = Idp::start().await;
    let mut config = settings(&idp.state.issuer);
    config.username_claim = "email".into();
    let by_email = provider(&config);
    let mut claims = idp.claims();
    *idp.state.id_token.lock().unwrap() = signed(&claims);
    let identity = by_email
        .finish(REDIRECT_URI, "c", NONCE, "v")
        .await
        .expect("verified email");
    assert_eq!(identity.username, "alice@example.com");
    claims["email_verified"] = json!(false);
    *idp.state.id_token.lock().unwrap() = signed(&claims);
    match by_email.finish(REDIRECT_URI, "c", NONCE, "v").await {
        Err(OidcError::BadToken(reason)) => assert!(reason.contains("verified"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_provider_that_is_down_is_unavailable() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let down = provider(&settings(&format!("http://127.0.0.1:{port}")));
    for _ in 0..2 {
        match down.start(REDIRECT_URI).await {
            Err(OidcError::Unavailable(reason)) => assert!(reason.contains("discovery"), "{reason}"),
            Err(e) => panic!("{e:?}"),
            Ok(_) => panic!("started against nothing"),
        }
        assert!(matches!(
            down.finish(REDIRECT_URI, "c", NONCE, "v").await,
            Err(OidcError::Unavailable(_))
        ));
    }
}
