//! [`ClientAddr`]: the address of the TCP peer, for login throttling and the audit log.
//!
//! It is the socket's peer address (set by `into_make_service_with_connect_info` in serve.rs),
//! never a header such as `X-Forwarded-For`, which any client could forge to dodge throttling.
//! A router driven without connect info (a test calling the router directly) gets `None`.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(a)| a.ip()),
        ))
    }
}
