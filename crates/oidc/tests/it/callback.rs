//! `parse_callback`: the code and state, the provider's own error, and what no provider sends.

use vestibule_oidc::OidcError;

use crate::common::{provider, settings};

const ISSUER: &str = "http://127.0.0.1:4000";

#[test]
fn the_code_and_state_are_read() {
    let p = provider(&settings(ISSUER));
    assert_eq!(
        p.parse_callback("code=c%2B1&state=s1&iss=http%3A%2F%2F127.0.0.1%3A4000"),
        Ok(("c+1".into(), "s1".into()))
    );
    assert_eq!(
        p.parse_callback("state=s1&code=c1"),
        Ok(("c1".into(), "s1".into()))
    );
}

#[test]
fn an_error_of_the_provider_is_its_own() {
    let p = provider(&settings(ISSUER));
    assert_eq!(
        p.parse_callback("error=access_denied&error_description=End-User+aborted&state=s1"),
        Err(OidcError::ProviderError {
            error: "access_denied".into(),
            description: Some("End-User aborted".into()),
        })
    );
    let e = p.parse_callback("error=login_required").unwrap_err();
    assert_eq!(
        e.to_string(),
        "the identity provider refused the sign-in: login_required"
    );
}

#[test]
fn what_no_provider_sends_is_refused() {
    let p = provider(&settings(ISSUER));
    let bad = |q: &str| match p.parse_callback(q) {
        Err(OidcError::BadCallback(reason)) => reason,
        other => panic!("{q}: {other:?}"),
    };
    assert!(bad("state=s1").contains("no 'code'"));
    assert!(bad("code=c1").contains("no 'state'"));
    assert!(bad("code=&state=s1").contains("no 'code'"));
    assert!(bad("code=c1&code=c2&state=s1").contains("twice"));
    // RFC 9207: a response of another provider is not taken for this one's.
    assert!(bad("code=c1&state=s1&iss=https%3A%2F%2Fevil.example").contains("issuer"));
    assert!(bad("").contains("no 'code'"));
    assert!(bad("%ff%fe=%00").contains("no 'code'"));
}
