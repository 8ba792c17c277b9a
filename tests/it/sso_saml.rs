//! SAML 2.0 end to end: the real `vestibule` binary with an `[[sso.saml]]` provider and a real
//! identity provider (samlify, compat/saml_idp.mjs; set up by `common::saml`), driven by a
//! cookie-keeping client that walks the provider's login form and posts its response to the
//! assertion consumer service as a browser's auto-submitting form would. Then the crafted
//! attacks, each built from a real signed response of that provider and each refused.

use std::path::Path;
use std::process::Command;

use reqwest::header::LOCATION;
use reqwest::{StatusCode, Url};
use serde_json::{json, Value};

// A browser without JavaScript: keeps cookies, follows nothing by itself.
use crate::common::client as browser;
use crate::common::saml::{
    key_pair, saml_setup, SamlOptions, SamlSetup, CONTEXT, MSTR_ACS, PROVIDER_ID, PROVIDER_NAME, TS_ACS,
};

/// The value of the hidden input `name` in `html`.
fn hidden(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let tag_start = html[..at].rfind('<')?;
    let tag = &html[tag_start..at + html[at..].find('>')?];
    let v = tag.split("value=\"").nth(1)?.split('"').next()?;
    Some(
        v.replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&#39;", "'")
            .replace("&amp;", "&"),
    )
}

fn form_action(html: &str) -> Option<String> {
    let v = html.split("action=\"").nth(1)?.split('"').next()?;
    Some(v.replace("&amp;", "&"))
}

/// A sign-in started at `start` (a vestibule URL that redirects to the provider), up to the
/// provider's login page: (the AuthnRequest's id, the RelayState, the ACS URL it asks for).
async fn to_provider(b: &reqwest::Client, s: &SamlSetup, start: &str) -> (String, String, String) {
    let r = b.get(s.server.url(start)).send().await.expect("start");
    assert_eq!(r.status(), StatusCode::FOUND, "{start}: {:?}", r.text().await);
    let to = r
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .expect("Location")
        .to_string();
    assert!(to.starts_with(&format!("{}/sso?", s.idp.base)), "{to}");
    let url = Url::parse(&to).expect("URL");
    assert!(url.query_pairs().any(|(k, _)| k == "SAMLRequest"), "{to}");
    let page = b.get(url).send().await.expect("the provider's page");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("page");
    (
        hidden(&html, "inResponseTo").expect("inResponseTo"),
        hidden(&html, "RelayState").expect("RelayState"),
        hidden(&html, "acs").expect("acs"),
    )
}

/// Signs in at the provider as `user`: the auto-submitting form's (action, SAMLResponse,
/// RelayState).
async fn at_provider(
    b: &reqwest::Client,
    s: &SamlSetup,
    login: (String, String, String),
    user: &str,
) -> (String, String, String) {
    let (id, relay, acs) = login;
    let r = b
        .post(format!("{}/login", s.idp.base))
        .form(&[
            ("acs", acs.as_str()),
            ("inResponseTo", id.as_str()),
            ("RelayState", relay.as_str()),
            ("username", user),
            ("password", "any"),
        ])
        .send()
        .await
        .expect("login at the provider");
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.expect("page");
    (
        form_action(&html).expect("form action"),
        hidden(&html, "SAMLResponse").expect("SAMLResponse"),
        hidden(&html, "RelayState").unwrap_or_default(),
    )
}

async fn post_acs(b: &reqwest::Client, action: &str, response: &str, relay: &str) -> reqwest::Response {
    b.post(action)
        .form(&[("SAMLResponse", response), ("RelayState", relay)])
        .send()
        .await
        .expect("post to the ACS")
}

async fn assert_refused(r: reqwest::Response, what: &str) {
    let status = r.status();
    let html = r.text().await.unwrap_or_default();
    assert!(
        status == StatusCode::UNAUTHORIZED || status == StatusCode::BAD_REQUEST,
        "{what}: {status}: {html}"
    );
    let alert = html
        .split("id=\"sso-error\">")
        .nth(1)
        .and_then(|r| r.split("</p>").next())
        .unwrap_or_else(|| panic!("{what}: no error message: {html}"));
    // The page says the sign-in failed, not which check.
    for detail in [
        "Audience",
        "Recipient",
        "ignature",
        "NotOnOrAfter",
        "InResponseTo",
        "DOCTYPE",
        "NameID",
    ] {
        assert!(
            !alert.contains(detail),
            "{what}: the page names '{detail}': {alert}"
        );
    }
}

async fn user_info(s: &SamlSetup, b: &reqwest::Client) -> Value {
    let r = b
        .get(s.server.url(&format!("{CONTEXT}/api/auth/token")))
        .send()
        .await
        .expect("auth/token");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let token = r
        .headers()
        .get("x-mstr-authtoken")
        .and_then(|v| v.to_str().ok())
        .expect("token")
        .to_string();
    b.get(s.server.url(&format!("{CONTEXT}/api/sessions/userInfo")))
        .header("X-MSTR-AuthToken", token)
        .send()
        .await
        .expect("userInfo")
        .json()
        .await
        .expect("userInfo JSON")
}

fn decode(b64: &str) -> String {
    use base64::Engine;
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .expect("base64"),
    )
    .expect("UTF-8")
}

fn encode(xml: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(xml)
}

/// `x` with the content of every `<tag>…</tag>` removed.
fn empty_elements(x: &str, tag: &str) -> String {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = String::new();
    let mut rest = x;
    while let Some(a) = rest.find(&open) {
        let after = a + open.len();
        let Some(b) = rest[after..].find(&close) else {
            break;
        };
        out.push_str(&rest[..after]);
        rest = &rest[after + b..];
    }
    out.push_str(rest);
    out
}

/// Signs the assertion of `xml` again with `key` (xmlsec1, the existing signature emptied as the
/// template), so that a test can change what the provider said and still present a valid
/// signature.
fn resign(dir: &Path, xml: &str, key: &Path) -> String {
    resign_element(dir, xml, key, "urn:oasis:names:tc:SAML:2.0:assertion:Assertion")
}

/// As [`resign`], for the element named `id_attr_of` (`namespace:Element`).
fn resign_element(dir: &Path, xml: &str, key: &Path, id_attr_of: &str) -> String {
    let mut t = xml.to_string();
    for tag in ["ds:DigestValue", "ds:SignatureValue", "ds:X509Certificate"] {
        t = empty_elements(&t, tag);
    }
    let file = dir.join("template.xml");
    std::fs::write(&file, &t).expect("write the template");
    let out = Command::new("xmlsec1")
        .args(["--sign", "--privkey-pem"])
        .arg(key)
        .args(["--id-attr:ID", id_attr_of])
        .arg(&file)
        .output()
        .expect("run xmlsec1");
    assert!(
        out.status.success(),
        "xmlsec1 --sign: {}\n{t}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// A real response of the provider for `user`, answering the flow just started at `start`:
/// (the response's XML, the RelayState, the ACS URL).
async fn raw(b: &reqwest::Client, s: &SamlSetup, start: &str, user: &str) -> (String, String, String) {
    let (id, relay, acs) = to_provider(b, s, start).await;
    let r = b
        .get(format!("{}/raw-response", s.idp.base))
        .query(&[
            ("user", user),
            ("acs", acs.as_str()),
            ("inResponseTo", id.as_str()),
        ])
        .send()
        .await
        .expect("raw response");
    assert_eq!(r.status(), StatusCode::OK);
    (decode(&r.text().await.expect("text")), relay, acs)
}

const MSTR_START: &str = "/MicroStrategyLibrary/saml/authenticate";

#[cfg_attr(
    not(test_node),
    ignore = "node or compat/node_modules is missing (scripts/compat-setup.sh)"
)]
#[tokio::test]
async fn saml_microstrategy_sign_in_makes_a_session_a_token_and_a_user() {
    let s = saml_setup(SamlOptions::default());
    let b = browser();
    // The sign-in page lists the provider with SAML's login mode.
    let page = b
        .get(s.server.url(&format!("{CONTEXT}/auth/login")))
        .send()
        .await
        .expect("sign-in page")
        .text()
        .await
        .expect("page");
    assert!(page.contains(PROVIDER_NAME) && page.contains("1048576"), "{page}");
    // Its button goes through {context}/saml/authenticate, as Library's sign-in does.
    let r = b
        .post(s.server.url(&format!("{CONTEXT}/auth/login")))
        .form(&[("loginMode", "1048576"), ("provider", PROVIDER_ID)])
        .send()
        .await
        .expect("the button");
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(
        r.headers().get(LOCATION).and_then(|v| v.to_str().ok()),
        Some(format!("{MSTR_START}?provider={PROVIDER_ID}").as_str())
    );

    let login = to_provider(&b, &s, MSTR_START).await;
    assert_eq!(
        login.2,
        format!("{}{MSTR_ACS}", s.public),
        "the AuthnRequest names the MicroStrategy ACS"
    );
    let (action, response, relay) = at_provider(&b, &s, login, "alice").await;
    assert_eq!(action, format!("{}{MSTR_ACS}", s.public));
    let r = post_acs(&b, &action, &response, &relay).await;
    assert_eq!(r.status(), StatusCode::FOUND, "{:?}", r.text().await);
    assert_eq!(
        r.headers().get(LOCATION).and_then(|v| v.to_str().ok()),
        Some(format!("{CONTEXT}/auth/signed-in").as_str())
    );
    let info = user_info(&s, &b).await;
    assert_eq!(info["username"], json!("alice"), "{info}");
    assert_eq!(info["fullName"], json!("Alice Example"), "{info}");

    // The same response again (a replay) is refused, also with a new flow.
    let (_, relay2, _) = to_provider(&b, &s, MSTR_START).await;
    let again = post_acs(&b, &action, &response, &relay2).await;
    assert_refused(again, "a replayed response").await;
    let events = s.audit_events();
    assert!(
        events
            .iter()
            .any(|e| e["event"] == json!("login_failed") && e["reason"] == json!("saml_in_response_to")),
        "a response to another flow's request: {events:#?}"
    );

    let events = s.audit_events();
    assert!(
        events.iter().any(|e| e["event"] == json!("login_succeeded")
            && e["provider"] == json!(PROVIDER_ID)
            && e["login_mode"] == json!(1048576)
            && e["subject"] == json!("alice")),
        "{events:#?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["event"] == json!("login_failed") && e["provider"] == json!(PROVIDER_ID)),
        "{events:#?}"
    );
    // The user is the provider's: linked by provider and NameID.
    let out = s.server.cli(&["user", "list"], "");
    let out = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.lines()
            .any(|l| l.contains("alice") && l.contains("saml:corp-saml:alice")),
        "{out}"
    );
}

#[cfg_attr(
    not(test_node),
    ignore = "node or compat/node_modules is missing (scripts/compat-setup.sh)"
)]
#[tokio::test]
async fn saml_thoughtspot_sign_in_makes_a_cookie_session_and_returns_to_the_path() {
    let s = saml_setup(SamlOptions::default());
    let b = browser();
    let login = to_provider(&b, &s, "/callosum/v1/saml/login?targetURLPath=%2Fts-after").await;
    assert_eq!(
        login.2,
        format!("{}{TS_ACS}", s.public),
        "the AuthnRequest names the ThoughtSpot ACS"
    );
    let (action, response, relay) = at_provider(&b, &s, login, "alice").await;
    let r = post_acs(&b, &action, &response, &relay).await;
    assert_eq!(r.status(), StatusCode::FOUND, "{:?}", r.text().await);
    assert_eq!(
        r.headers().get(LOCATION).and_then(|v| v.to_str().ok()),
        Some("/ts-after")
    );
    let info: Value = b
        .get(s.server.url("/callosum/v1/tspublic/v1/session/info"))
        .send()
        .await
        .expect("session/info")
        .json()
        .await
        .expect("JSON");
    assert_eq!(info["userName"], json!("alice"), "{info}");
    let token = b
        .get(s.server.url("/api/rest/2.0/auth/session/token"))
        .send()
        .await
        .expect("session/token");
    assert_eq!(token.status(), StatusCode::OK);
    let token: Value = token.json().await.expect("JSON");
    assert_eq!(token["valid_for_username"], json!("alice"), "{token}");
}

#[cfg_attr(
    not(test_node),
    ignore = "node or compat/node_modules is missing (scripts/compat-setup.sh)"
)]
#[tokio::test]
async fn saml_crafted_responses_are_refused() {
    let s = saml_setup(SamlOptions::default());
    let dir = s.dir.path().to_path_buf();
    let other = key_pair(&dir, "mallory");
    let idp_key = s.idp.keys.key.clone();
    let b = browser();
    let acs_of = |acs: &str| acs.to_string();

    // Each case: a fresh flow, the provider's real signed response for alice, changed.
    type Change = Box<dyn Fn(&str) -> String>;
    let idp_key2 = idp_key.clone();
    let dir2 = dir.clone();
    let other_key = other.key.clone();
    let dir3 = dir.clone();
    // (what, the audit's reason when refused, the change)
    let cases: Vec<(&str, &str, Change)> = vec![
        (
            "the NameID changed after signing",
            "saml_signature",
            Box::new(|x: &str| x.replace(">alice</saml:NameID>", ">bob</saml:NameID>")),
        ),
        (
            "an attribute changed after signing",
            "saml_signature",
            Box::new(|x: &str| x.replace("Alice Example", "Mallory Example")),
        ),
        (
            "the signature removed",
            "saml_signature",
            Box::new(strip_signatures),
        ),
        (
            "signed by another key",
            "saml_signature",
            Box::new(move |x: &str| resign(&dir2, x, &other_key)),
        ),
        (
            "another audience, signed by the provider's key",
            "saml_audience",
            Box::new({
                let (d, k) = (dir3.clone(), idp_key2.clone());
                move |x: &str| {
                    let a = x.find("<saml:Audience>").expect("Audience");
                    let e = x.find("</saml:Audience>").expect("Audience end");
                    let mut y = x.to_string();
                    y.replace_range(a + "<saml:Audience>".len()..e, "https://other.example.com/sp");
                    resign(&d, &y, &k)
                }
            }),
        ),
        (
            "another recipient, signed by the provider's key",
            "saml_recipient",
            Box::new({
                let (d, k) = (dir3.clone(), idp_key2.clone());
                move |x: &str| resign(&d, &x.replace("Recipient=\"http", "Recipient=\"https"), &k)
            }),
        ),
        (
            "expired, signed by the provider's key",
            "saml_expired",
            Box::new({
                let (d, k) = (dir3.clone(), idp_key2.clone());
                move |x: &str| resign(&d, &set_not_on_or_after(x, "2020-01-01T00:00:00Z"), &k)
            }),
        ),
        (
            "a second, unsigned assertion for bob first",
            "saml_signature",
            Box::new(|x: &str| wrap_second_assertion(x, true)),
        ),
        (
            "a second, unsigned assertion for bob last",
            "saml_signature",
            Box::new(|x: &str| wrap_second_assertion(x, false)),
        ),
        (
            "the signed assertion moved under Extensions",
            "saml_signature",
            Box::new(move_under_extensions),
        ),
        (
            "a forged assertion with the signed one's ID, first",
            "saml_signature",
            Box::new(duplicate_id),
        ),
        (
            "a DOCTYPE with an entity",
            "saml_refused_shape",
            Box::new(|x: &str| {
                let body = x.trim_start_matches(|c| c != '<');
                let body = body.strip_prefix("<?xml version=\"1.0\"?>").unwrap_or(body);
                format!(
                    "<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>{body}"
                )
            }),
        ),
        (
            "a comment inside the NameID",
            "saml_signature",
            Box::new(|x: &str| x.replace(">alice</saml:NameID>", ">ali<!---->ce</saml:NameID>")),
        ),
    ];
    for (what, reason, change) in cases {
        let (xml, relay, acs) = raw(&b, &s, MSTR_START, "alice").await;
        let crafted = change(&xml);
        assert_ne!(crafted, xml, "{what}: the change changed nothing");
        let r = post_acs(&b, &acs_of(&acs), &encode(&crafted), &relay).await;
        if r.status() == StatusCode::FOUND {
            // Reduced to what was signed: alice may sign in; never bob, never a changed name.
            let info = user_info(&s, &b).await;
            assert_eq!(info["username"], json!("alice"), "{what}: {info}");
            assert_eq!(info["fullName"], json!("Alice Example"), "{what}: {info}");
            assert!(
                what.contains("second") || what.contains("Extensions"),
                "{what} was accepted"
            );
        } else {
            assert_refused(r, what).await;
            let events = s.audit_events();
            let last = events
                .iter()
                .rev()
                .find(|e| e["event"] == json!("login_failed"))
                .expect("a login_failed event");
            assert_eq!(last["reason"], json!(reason), "{what}: {last}");
            assert_eq!(last["provider"], json!(PROVIDER_ID), "{what}: {last}");
        }
    }

    // Without the flow cookie (another browser): refused, and unsolicited responses are off.
    let (xml, relay, acs) = raw(&b, &s, MSTR_START, "alice").await;
    let r = post_acs(&browser(), &acs, &encode(&xml), &relay).await;
    assert_refused(r, "a response posted from another browser").await;
    let r = b
        .get(format!("{}/raw-response", s.idp.base))
        .query(&[("user", "alice"), ("acs", &format!("{}{MSTR_ACS}", s.public))])
        .send()
        .await
        .expect("unsolicited");
    let unsolicited = r.text().await.expect("text");
    let r = post_acs(
        &browser(),
        &format!("{}{MSTR_ACS}", s.public),
        unsolicited.trim(),
        "",
    )
    .await;
    assert_refused(r, "an unsolicited response while IdP-initiated sign-on is off").await;
}

#[cfg_attr(
    not(test_node),
    ignore = "node or compat/node_modules is missing (scripts/compat-setup.sh)"
)]
#[tokio::test]
async fn saml_idp_initiated_sign_in_when_allowed_is_accepted_once() {
    let s = saml_setup(SamlOptions {
        allow_idp_initiated: true,
        ..Default::default()
    });
    let acs = format!("{}{MSTR_ACS}", s.public);
    let r = browser()
        .get(format!("{}/raw-response", s.idp.base))
        .query(&[("user", "bob"), ("acs", acs.as_str())])
        .send()
        .await
        .expect("unsolicited");
    let response = r.text().await.expect("text").trim().to_string();
    let b = browser();
    let r = post_acs(&b, &acs, &response, "").await;
    assert_eq!(r.status(), StatusCode::FOUND, "{:?}", r.text().await);
    assert_eq!(user_info(&s, &b).await["username"], json!("bob"));
    // The same assertion again: the replay cache refuses it.
    let r = post_acs(&browser(), &acs, &response, "").await;
    assert_refused(r, "a replayed unsolicited response").await;
    let events = s.audit_events();
    assert!(
        events
            .iter()
            .any(|e| e["event"] == json!("login_failed") && e["reason"] == json!("replayed")),
        "{events:#?}"
    );
    // A response that answers a request is not unsolicited: without its flow it is refused.
    let (xml, relay, acs) = raw(&browser(), &s, MSTR_START, "alice").await;
    let r = post_acs(&browser(), &acs, &encode(&xml), &relay).await;
    assert_refused(r, "a solicited response without its browser's flow").await;
}

#[cfg_attr(
    not(test_node),
    ignore = "node or compat/node_modules is missing (scripts/compat-setup.sh)"
)]
#[tokio::test]
async fn saml_sp_metadata_names_both_assertion_consumer_services() {
    let s = saml_setup(SamlOptions::default());
    for path in [
        "/MicroStrategyLibrary/saml/metadata",
        "/MicroStrategyLibrary/saml/SPMetadata.xml",
    ] {
        let r = browser().get(s.server.url(path)).send().await.expect("metadata");
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let xml = r.text().await.expect("XML");
        assert!(
            xml.contains(&format!("entityID=\"{}{CONTEXT}\"", s.public)),
            "{xml}"
        );
        for acs in [MSTR_ACS, TS_ACS] {
            assert!(
                xml.contains(&format!("Location=\"{}{acs}\"", s.public)),
                "{acs}: {xml}"
            );
        }
        assert!(
            xml.contains("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"),
            "{xml}"
        );
    }
}

fn strip_signatures(x: &str) -> String {
    let mut y = x.to_string();
    while let (Some(a), Some(b)) = (y.find("<ds:Signature"), y.find("</ds:Signature>")) {
        y.replace_range(a..b + "</ds:Signature>".len(), "");
    }
    y
}

fn set_not_on_or_after(x: &str, when: &str) -> String {
    let mut out = String::new();
    let mut rest = x;
    while let Some(i) = rest.find("NotOnOrAfter=\"") {
        let start = i + "NotOnOrAfter=\"".len();
        out.push_str(&rest[..start]);
        out.push_str(when);
        let end = rest[start..].find('"').expect("attribute end");
        rest = &rest[start + end..];
    }
    out.push_str(rest);
    out
}

/// The assertion element of `x` (from `<saml:Assertion` to its end).
fn assertion_of(x: &str) -> (usize, usize) {
    let a = x.find("<saml:Assertion").expect("Assertion");
    let e = x.find("</saml:Assertion>").expect("Assertion end") + "</saml:Assertion>".len();
    (a, e)
}

/// A forged, unsigned copy of the assertion for bob, beside the signed one.
fn wrap_second_assertion(x: &str, first: bool) -> String {
    let (a, e) = assertion_of(x);
    let signed = &x[a..e];
    let forged = strip_signatures(signed)
        .replace(">alice</saml:NameID>", ">bob</saml:NameID>")
        .replacen("ID=\"", "ID=\"forged", 1);
    let both = if first {
        format!("{forged}{signed}")
    } else {
        format!("{signed}{forged}")
    };
    format!("{}{both}{}", &x[..a], &x[e..])
}

/// `xml` (a response whose assertion is plain) with its assertion encrypted to `cert`
/// (AES-128-CBC, RSA-OAEP, a `ds:KeyInfo`; xmlsec1) and the response signed again with `key`.
fn encrypt_assertion(dir: &Path, xml: &str, cert: &Path, key: &Path) -> String {
    let (a, e) = assertion_of(xml);
    let wrapped = format!(
        "{}<saml:EncryptedAssertion>{}</saml:EncryptedAssertion>{}",
        &xml[..a],
        &xml[a..e],
        &xml[e..]
    );
    let data = dir.join("plain.xml");
    let template = dir.join("encryption-template.xml");
    std::fs::write(&data, &wrapped).expect("write");
    std::fs::write(
        &template,
        "<xenc:EncryptedData xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\" Type=\"http://www.w3.org/2001/04/xmlenc#Element\">\
<xenc:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#aes128-cbc\"/>\
<ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><xenc:EncryptedKey>\
<xenc:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p\"/>\
<xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>\
<xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedData>",
    )
    .expect("write");
    let out = Command::new("xmlsec1")
        .args(["--encrypt", "--pubkey-cert-pem"])
        .arg(cert)
        .args(["--session-key", "aes-128", "--xml-data"])
        .arg(&data)
        .args(["--node-name", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"])
        .arg(&template)
        .output()
        .expect("run xmlsec1");
    assert!(
        out.status.success(),
        "xmlsec1 --encrypt: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let encrypted = String::from_utf8(out.stdout).expect("UTF-8");
    resign_element(
        dir,
        &encrypted,
        key,
        "urn:oasis:names:tc:SAML:2.0:protocol:Response",
    )
}

/// A forged, unsigned assertion for bob with the signed assertion's own ID, before it.
fn duplicate_id(x: &str) -> String {
    let (a, e) = assertion_of(x);
    let signed = &x[a..e];
    let forged = strip_signatures(signed).replace(">alice</saml:NameID>", ">bob</saml:NameID>");
    format!("{}{forged}{signed}{}", &x[..a], &x[e..])
}

/// The signed assertion moved into the response's `Extensions`, a forged one in its place.
fn move_under_extensions(x: &str) -> String {
    let (a, e) = assertion_of(x);
    let signed = &x[a..e];
    let forged = strip_signatures(signed).replace(">alice</saml:NameID>", ">bob</saml:NameID>");
    let without = format!("{}{forged}{}", &x[..a], &x[e..]);
    // Just after the response's Issuer.
    let at = without.find("</saml:Issuer>").expect("Issuer") + "</saml:Issuer>".len();
    format!(
        "{}<samlp:Extensions>{signed}</samlp:Extensions>{}",
        &without[..at],
        &without[at..]
    )
}

/// Two nodes behind one public URL, sessions (and so the replay cache) in Redis, the directory
/// in PostgreSQL: an assertion accepted by one node is refused by the other.
#[cfg_attr(
    not(all(test_node, test_postgres, test_redis)),
    ignore = "node, VESTIBULE_TEST_POSTGRES_URL or VESTIBULE_TEST_REDIS_URL is missing"
)]
#[tokio::test]
async fn saml_an_assertion_used_on_one_node_is_refused_on_another() {
    const TEST: &str = "sso_saml::saml_an_assertion_used_on_one_node_is_refused_on_another";
    let pg_url = crate::common::backend_url("VESTIBULE_TEST_POSTGRES_URL", TEST);
    let redis_url = crate::common::backend_url("VESTIBULE_TEST_REDIS_URL", TEST);
    let db = crate::common::pg::FreshDb::create(&pg_url).await;
    let stores = vec![
        ("VESTIBULE_STORE_SESSIONS", redis_url.clone()),
        ("VESTIBULE_STORE_METADATA", db.url.clone()),
    ];
    let s = saml_setup(SamlOptions {
        allow_idp_initiated: true,
        env: stores.clone(),
        ..Default::default()
    });
    // The second node: the same configuration file and stores, another address.
    let mut env: Vec<(&str, String)> = stores;
    env.push((
        "VESTIBULE_CONFIG",
        s.dir.path().join("vestibule.toml").display().to_string(),
    ));
    let other_audit = s.dir.path().join("audit-other.log");
    env.push((
        "VESTIBULE_AUDIT_TARGET",
        format!("file:{}", other_audit.display()),
    ));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let other = crate::common::TestServer::start_with(&env);

    let acs = format!("{}{MSTR_ACS}", s.public);
    let response = browser()
        .get(format!("{}/raw-response", s.idp.base))
        .query(&[("user", "bob"), ("acs", acs.as_str())])
        .send()
        .await
        .expect("unsolicited")
        .text()
        .await
        .expect("text")
        .trim()
        .to_string();
    let b = browser();
    let r = post_acs(&b, &acs, &response, "").await;
    assert_eq!(r.status(), StatusCode::FOUND, "{:?}", r.text().await);
    // The public URL is the first node's; the second is reached directly, as a balancer would.
    let r = post_acs(&browser(), &other.url(MSTR_ACS), &response, "").await;
    assert_refused(r, "the same assertion on the other node").await;
    let events = std::fs::read_to_string(&other_audit).unwrap_or_default();
    assert!(
        events
            .lines()
            .any(|l| l.contains("\"login_failed\"") && l.contains("\"replayed\"")),
        "the other node's audit: {events}"
    );
}

/// `EncryptedAssertion`: the provider's real response (only the response signed), its assertion
/// encrypted to the SP's certificate (AES-128-CBC, RSA-OAEP, `ds:KeyInfo` as Okta lays it out;
/// xmlsec1) and the response signed again with the provider's key, is decrypted with the SP key
/// and signs alice in; without the key, and in samlify's own layout (a `KeyInfo` in the default
/// namespace, which samael does not read), it is refused. The SP metadata offers the
/// certificate for encryption.
#[cfg_attr(
    not(test_node),
    ignore = "node or compat/node_modules is missing (scripts/compat-setup.sh)"
)]
#[tokio::test]
async fn saml_an_encrypted_assertion_is_decrypted_with_the_sp_key() {
    let keys = tempfile::tempdir().expect("temp dir");
    let sp = key_pair(keys.path(), "sp");
    let extra = format!(
        "sp_key_file = \"{}\"\nsp_cert_file = \"{}\"",
        sp.key.display(),
        sp.cert.display()
    );
    let s = saml_setup(SamlOptions {
        idp: crate::common::saml::IdpOptions {
            sign: "response",
            encrypt_to: None,
        },
        provider_extra: &extra,
        ..Default::default()
    });
    let md = browser()
        .get(s.server.url("/MicroStrategyLibrary/saml/metadata"))
        .send()
        .await
        .expect("metadata")
        .text()
        .await
        .expect("XML");
    assert!(
        md.contains("use=\"encryption\"") && md.contains("use=\"signing\""),
        "{md}"
    );

    let b = browser();
    let (xml, relay, acs) = raw(&b, &s, MSTR_START, "alice").await;
    let encrypted = encrypt_assertion(s.dir.path(), &xml, &sp.cert, &s.idp.keys.key);
    assert!(
        encrypted.contains("EncryptedAssertion") && !encrypted.contains(">alice<"),
        "{encrypted}"
    );
    let r = post_acs(&b, &acs, &encode(&encrypted), &relay).await;
    assert_eq!(
        r.status(),
        StatusCode::FOUND,
        "server log:\n{}",
        s.server.stderr()
    );
    let info = user_info(&s, &b).await;
    assert_eq!(info["username"], json!("alice"), "{info}");
    assert_eq!(info["fullName"], json!("Alice Example"), "{info}");

    // Another server, without the SP key, cannot read it.
    let no_key = saml_setup(SamlOptions {
        idp: crate::common::saml::IdpOptions {
            sign: "response",
            encrypt_to: None,
        },
        ..Default::default()
    });
    let b = browser();
    let (xml, relay, acs) = raw(&b, &no_key, MSTR_START, "alice").await;
    let encrypted = encrypt_assertion(no_key.dir.path(), &xml, &sp.cert, &no_key.idp.keys.key);
    let r = post_acs(&b, &acs, &encode(&encrypted), &relay).await;
    assert_refused(r, "an encrypted assertion without the SP key").await;
    assert!(
        no_key
            .audit_events()
            .iter()
            .any(|e| e["event"] == json!("login_failed") && e["reason"] == json!("saml_decryption")),
        "{:#?}",
        no_key.audit_events()
    );
}

/// The SP metadata is valid against OASIS's SAML metadata schema (xmllint, with the schemas
/// `scripts/compat-setup.sh` fetches).
#[cfg_attr(
    not(test_node),
    ignore = "node or compat/node_modules is missing (scripts/compat-setup.sh)"
)]
#[tokio::test]
async fn saml_sp_metadata_is_valid_against_the_metadata_schema() {
    const TEST: &str = "sso_saml::saml_sp_metadata_is_valid_against_the_metadata_schema";
    let schema = crate::common::ops::tool(
        "tests/saml-schemas/saml-schema-metadata-2.0.xsd",
        TEST,
        "bash scripts/compat-setup.sh",
    );
    let xmllint = crate::common::ops::tool("/usr/bin/xmllint", TEST, "bash scripts/ci-install.sh");
    let s = saml_setup(SamlOptions::default());
    let xml = browser()
        .get(s.server.url("/MicroStrategyLibrary/saml/metadata"))
        .send()
        .await
        .expect("metadata")
        .text()
        .await
        .expect("XML");
    let file = s.dir.path().join("sp-metadata.xml");
    std::fs::write(&file, &xml).expect("write");
    let out = Command::new(xmllint)
        .args(["--noout", "--nonet", "--schema"])
        .arg(schema)
        .arg(&file)
        .output()
        .expect("run xmllint");
    assert!(
        out.status.success(),
        "the SP metadata is not valid:\n{}\n{xml}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Logout: the browser's session ends here, a `LogoutRequest` for its NameID goes to the
/// provider's SingleLogoutService, and the provider's `LogoutResponse` lands on the signed-out
/// page. A provider's own `LogoutRequest` is refused on a page, not served.
#[cfg_attr(
    not(test_node),
    ignore = "node or compat/node_modules is missing (scripts/compat-setup.sh)"
)]
#[tokio::test]
async fn saml_logout_ends_the_session_here_and_at_the_provider() {
    let s = saml_setup(SamlOptions::default());
    let b = browser();
    let login = to_provider(&b, &s, MSTR_START).await;
    let (action, response, relay) = at_provider(&b, &s, login, "alice").await;
    let r = post_acs(&b, &action, &response, &relay).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    user_info(&s, &b).await;

    let r = b
        .get(s.server.url(&format!("{CONTEXT}/saml/SingleLogout")))
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status(), StatusCode::FOUND);
    let to = r
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .expect("Location")
        .to_string();
    assert!(
        to.starts_with(&format!("{}/slo?SAMLRequest=", s.idp.base)),
        "{to}"
    );
    // The provider checks the request's issuer and answers with its LogoutResponse.
    let r = b.get(&to).send().await.expect("the provider's logout");
    assert_eq!(r.status(), StatusCode::FOUND, "{:?}", r.text().await);
    let back = r
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .expect("Location")
        .to_string();
    assert!(
        back.starts_with(&format!("{}{CONTEXT}/saml/SingleLogout?", s.public)),
        "{back}"
    );
    assert!(back.contains("SAMLResponse="), "{back}");
    let page = b
        .get(&back)
        .send()
        .await
        .expect("back")
        .text()
        .await
        .expect("page");
    assert!(page.contains("id=\"signed-out\""), "{page}");
    let r = b
        .get(s.server.url(&format!("{CONTEXT}/api/auth/token")))
        .send()
        .await
        .expect("auth/token");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        s.audit_events()
            .iter()
            .any(|e| e["event"] == json!("logout") && e["user"] == json!("alice")),
        "{:#?}",
        s.audit_events()
    );

    let r = browser()
        .get(
            s.server
                .url(&format!("{CONTEXT}/saml/SingleLogout?SAMLRequest=abc")),
        )
        .send()
        .await
        .expect("an IdP's LogoutRequest");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}
