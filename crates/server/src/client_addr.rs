//! [`ClientOrigin`] and [`ClientAddr`]: who the client is (for login throttling and the audit log)
//! and whether it came over TLS (for `Secure` cookies): the server's own (`server.tls_cert_file`),
//! or a trusted proxy's.
//!
//! Both start from the socket's peer address (`ConnectInfo`, put on every request by the accept
//! loop in `edge/`). Only when that peer is one of `server.trusted_proxies` does the forwarding
//! header `server.forwarded_header` names (and its scheme) count; from
//! anyone else they are ignored, since a client could forge them to dodge throttling (the rules
//! are in `forwarded.rs`). They are resolved by the handlers that ask, so requests that only use
//! a session pay nothing. A router driven without connect info (a test calling the router
//! directly) gets no address and no TLS.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::forwarded;
use crate::state::AppState;

/// The client's address and scheme, resolved once for a handler that needs both.
#[derive(Debug, Clone, Copy)]
pub struct ClientOrigin {
    pub addr: Option<IpAddr>,
    /// The request came over TLS, as a trusted proxy says.
    pub https: bool,
}

/// The client's address alone.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

fn origin(parts: &Parts, state: &AppState) -> ClientOrigin {
    // Over the server's own TLS the request is https whoever the peer is.
    let own_tls = parts.extensions.get::<crate::edge::OverTls>().is_some();
    match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(peer)) => {
            let o = forwarded::resolve(
                peer.ip(),
                &state.trusted_proxies,
                state.forwarded_header,
                &parts.headers,
            );
            ClientOrigin {
                addr: Some(o.addr),
                https: o.https || own_tls,
            }
        }
        None => ClientOrigin {
            addr: None,
            https: own_tls,
        },
    }
}

impl FromRequestParts<AppState> for ClientOrigin {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(origin(parts, state))
    }
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(origin(parts, state).addr))
    }
}
