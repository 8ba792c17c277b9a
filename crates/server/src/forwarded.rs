//! Who the client is and whether it came over TLS, from the TCP peer and, only when the peer is a
//! trusted proxy (`server.trusted_proxies`), from the forwarding headers it sent.
//!
//! Pure functions over the peer, the trusted ranges and the headers, so the rules are unit-tested
//! here and the extractors in `client_addr.rs` only gather their inputs. The rules:
//!
//! - A peer that is not a trusted proxy is the client and its `Forwarded`, `X-Forwarded-For` and
//!   `X-Forwarded-Proto` are ignored: anyone could forge them to dodge throttling.
//! - From a trusted peer, the chain of the one header `server.forwarded_header` names is walked:
//!   `X-Forwarded-For` (every instance of the header, in order, comma-separated; the default) or
//!   RFC 7239 `Forwarded` (`for=` values). Only one is read, because a proxy that writes one
//!   passes the other through as the client sent it. The chain is walked from the right, since each proxy appends the address it saw: hops that are trusted proxies
//!   are skipped and the first that is not is the client. When every hop is trusted the leftmost
//!   is the client.
//! - A hop that is not an address (`unknown`, an obfuscated `_name`, garbage, a `Forwarded`
//!   element without `for=`) ends the walk and the last address read (a trusted proxy, or the
//!   peer) is the client: what is left of a hop nobody vouches for must not choose the address.
//! - At most [`MAX_HOPS`] hops are read from the right; beyond them the walk ends as it would at
//!   the leftmost hop.
//! - The scheme is `https` when the rightmost `X-Forwarded-Proto` value says `https` (with
//!   `X-Forwarded-For`) or the rightmost `Forwarded` element (the one the peer wrote) says
//!   `proto=https` (with `Forwarded`); only from a trusted peer.
//!
//! IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`, what a dual-stack listener reports) are taken as
//! the IPv4 address they carry, for matching and in the result. Headers are scanned from the
//! right without copying; a peer that is not trusted (always, when no proxy is trusted) costs one
//! comparison per trusted range and reads no header.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::http::header::FORWARDED;
use axum::http::{HeaderMap, HeaderName};
use ipnet::IpNet;

/// Hops of a forwarding chain read at most, from the right.
pub const MAX_HOPS: usize = 64;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// Which forwarding header a trusted proxy writes (`server.forwarded_header`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardingHeader {
    /// `X-Forwarded-For`, with the scheme in `X-Forwarded-Proto`.
    XForwardedFor,
    /// RFC 7239 `Forwarded`, `for=` and `proto=`.
    Forwarded,
}

impl ForwardingHeader {
    /// The setting's value (validated at start); anything else reads as the default.
    pub fn from_setting(value: &str) -> Self {
        if value.eq_ignore_ascii_case("forwarded") {
            ForwardingHeader::Forwarded
        } else {
            ForwardingHeader::XForwardedFor
        }
    }
}

/// The client as resolved for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    pub addr: IpAddr,
    /// The request came over TLS, as a trusted proxy says.
    pub https: bool,
}

/// The client's address and scheme for a request from `peer` with `headers`.
pub fn resolve(peer: IpAddr, trusted: &[IpNet], header: ForwardingHeader, headers: &HeaderMap) -> Origin {
    let peer = peer.to_canonical();
    if !is_trusted(peer, trusted) {
        return Origin {
            addr: peer,
            https: false,
        };
    }
    Origin {
        addr: client_behind(peer, trusted, header, headers),
        https: https(header, headers),
    }
}

fn is_trusted(addr: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&addr))
}

/// The client behind the trusted `peer`: the walk over the chain of `header`.
fn client_behind(peer: IpAddr, trusted: &[IpNet], header: ForwardingHeader, headers: &HeaderMap) -> IpAddr {
    match header {
        ForwardingHeader::Forwarded => {
            let hops = elements_from_right(headers, &FORWARDED).map(|e| e.and_then(forwarded_for));
            walk(peer, trusted, hops)
        }
        ForwardingHeader::XForwardedFor => {
            let hops = elements_from_right(headers, &X_FORWARDED_FOR).map(|e| e.and_then(parse_xff));
            walk(peer, trusted, hops)
        }
    }
}

/// Walks hops from the right (`None`: not an address) past trusted proxies; see the module doc.
fn walk(peer: IpAddr, trusted: &[IpNet], hops: impl Iterator<Item = Option<IpAddr>>) -> IpAddr {
    let mut client = peer;
    for hop in hops.take(MAX_HOPS) {
        let Some(addr) = hop else { break };
        client = addr.to_canonical();
        if !is_trusted(client, trusted) {
            break;
        }
    }
    client
}

/// An `X-Forwarded-For` hop: an address, or one with a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`),
/// or a bracketed IPv6 address.
fn parse_xff(s: &str) -> Option<IpAddr> {
    s.parse::<IpAddr>()
        .ok()
        .or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| bracketed(s))
}

fn bracketed(s: &str) -> Option<IpAddr> {
    let inner = s.strip_prefix('[')?.strip_suffix(']')?;
    inner.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
}

/// The address of a `Forwarded` element's `for=` node (RFC 7239 §6): `192.0.2.43`,
/// `"192.0.2.43:47011"`, `"[2001:db8::1]"`, `"[2001:db8::1]:4711"`, a port that is obfuscated
/// (`_p1`). `None` for `unknown`, an obfuscated node, anything else, and an element without
/// `for=` or with a malformed or repeated parameter.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    let node = param(element, "for").ok()??;
    let node = unquote(node)?;
    if let Some(rest) = node.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        let v6 = v6.parse::<Ipv6Addr>().ok()?;
        return (after.is_empty() || after.strip_prefix(':').is_some_and(is_port)).then_some(IpAddr::V6(v6));
    }
    let (host, port) = match node.split_once(':') {
        // A bare IPv6 address, which RFC 7239 wants bracketed; unambiguous, so taken.
        Some(_) if node.matches(':').count() > 1 => (node, None),
        Some((h, p)) => (h, Some(p)),
        None => (node, None),
    };
    if !port.is_none_or(is_port) {
        return None;
    }
    host.parse::<IpAddr>().ok()
}

/// A node's port: digits, or an obfuscated `_name` (RFC 7239 §6.3).
fn is_port(p: &str) -> bool {
    let digits = !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit());
    let obfuscated = p.len() > 1
        && p.starts_with('_')
        && p.bytes()
            .skip(1)
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    digits || obfuscated
}

/// The value of parameter `name` (without case) in one `Forwarded` element: `Ok(None)` when it is
/// absent, `Err` when a pair is malformed or `name` is repeated.
fn param<'a>(element: &'a str, name: &str) -> Result<Option<&'a str>, ()> {
    let mut found = None;
    for pair in rsplit_unquoted(element, b';') {
        let pair = pair.trim();
        if pair.is_empty() {
            continue;
        }
        let (key, value) = pair.split_once('=').ok_or(())?;
        if key.trim().eq_ignore_ascii_case(name) {
            if found.is_some() {
                return Err(());
            }
            found = Some(value.trim());
        }
    }
    Ok(found)
}

/// A token, or a quoted string's content; `None` for an unterminated quote or one with escapes
/// (no address or scheme needs them).
fn unquote(v: &str) -> Option<&str> {
    match v.strip_prefix('"') {
        Some(rest) => {
            let inner = rest.strip_suffix('"')?;
            (!inner.contains(['"', '\\'])).then_some(inner)
        }
        None => (!v.is_empty() && !v.contains(['"', '\\'])).then_some(v),
    }
}

/// The elements of every instance of `name` (a comma-separated list, commas inside quoted
/// strings not counting), rightmost first, empty ones skipped (RFC 9110 §5.6.1: they are no
/// elements); `None` for an instance that is not text. `X-Forwarded-For` has no quoted strings,
/// so for it the quotes only make a malformed hop.
fn elements_from_right<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
) -> impl Iterator<Item = Option<&'a str>> + 'a {
    headers.get_all(name).iter().rev().flat_map(|v| {
        let (line, bad) = match v.to_str() {
            Ok(s) => (s, None),
            Err(_) => ("", Some(None)),
        };
        bad.into_iter().chain(
            rsplit_unquoted(line, b',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(Some),
        )
    })
}

/// Splits `s` at `sep` outside quoted strings, from the right. Scanning from the right keeps what
/// the nearest proxies appended intact even when a client put an unbalanced quote further left:
/// that part comes out as one malformed piece, and the walk ends there.
fn rsplit_unquoted(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    let bytes = s.as_bytes();
    let mut end = bytes.len();
    let mut done = s.is_empty();
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let mut quoted = false;
        let mut i = end;
        while i > 0 {
            i -= 1;
            match bytes[i] {
                b'"' if !quoted => quoted = true,
                b'"' => {
                    // Inside a quoted string a quote after an odd run of backslashes is escaped.
                    let run = bytes[..i].iter().rev().take_while(|&&b| b == b'\\').count();
                    if run % 2 == 0 {
                        quoted = false;
                    }
                }
                b if b == sep && !quoted => {
                    // `sep` is ASCII, so `i` and `i + 1` are character boundaries.
                    let piece = &s[i + 1..end];
                    end = i;
                    return Some(piece);
                }
                _ => {}
            }
        }
        done = true;
        Some(&s[..end])
    })
}

/// Whether the nearest proxy says the request came over TLS; see the module doc.
fn https(header: ForwardingHeader, headers: &HeaderMap) -> bool {
    let proto = match header {
        ForwardingHeader::Forwarded => elements_from_right(headers, &FORWARDED)
            .next()
            .flatten()
            .and_then(|e| param(e, "proto").ok().flatten())
            .and_then(unquote),
        ForwardingHeader::XForwardedFor => headers
            .get_all(X_FORWARDED_PROTO)
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|line| line.rsplit(',').map(str::trim).find(|s| !s.is_empty())),
    };
    proto.is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `resolve` with the header a test's request carries: `Forwarded` when it has one.
    fn resolve(peer: IpAddr, trusted: &[IpNet], headers: &HeaderMap) -> Origin {
        let header = if headers.contains_key(FORWARDED) {
            ForwardingHeader::Forwarded
        } else {
            ForwardingHeader::XForwardedFor
        };
        super::resolve(peer, trusted, header, headers)
    }
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    const PROXY: &str = "10.0.0.1";

    /// The address resolved for a request from the trusted proxy 10.0.0.1 (10.0.0.0/24 and
    /// 192.168.1.0/24 trusted).
    fn via_proxy(pairs: &[(&str, &str)]) -> IpAddr {
        resolve(
            ip(PROXY),
            &nets(&["10.0.0.0/24", "192.168.1.0/24"]),
            &headers(pairs),
        )
        .addr
    }

    #[test]
    fn an_untrusted_peer_is_the_client_and_its_headers_are_ignored() {
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.7"),
            ("forwarded", "for=203.0.113.8;proto=https"),
            ("x-forwarded-proto", "https"),
        ]);
        for trusted in [nets(&[]), nets(&["10.0.0.0/8"])] {
            let o = resolve(ip("198.51.100.1"), &trusted, &h);
            assert_eq!(
                o,
                Origin {
                    addr: ip("198.51.100.1"),
                    https: false
                }
            );
        }
    }

    #[test]
    fn a_trusted_peer_without_headers_is_the_client() {
        assert_eq!(via_proxy(&[]), ip(PROXY));
    }

    #[test]
    fn x_forwarded_for_is_walked_from_the_right_past_trusted_hops() {
        assert_eq!(
            via_proxy(&[("x-forwarded-for", "203.0.113.7")]),
            ip("203.0.113.7")
        );
        // The client's own claim (left) is not what the proxy saw (right).
        assert_eq!(
            via_proxy(&[("x-forwarded-for", "1.1.1.1, 203.0.113.7, 192.168.1.5, 10.0.0.2")]),
            ip("203.0.113.7")
        );
        // Every instance counts, in order.
        assert_eq!(
            via_proxy(&[
                ("x-forwarded-for", "1.1.1.1, 203.0.113.7"),
                ("x-forwarded-for", "192.168.1.5"),
            ]),
            ip("203.0.113.7")
        );
        // Ports and brackets, as some proxies write them; empty list elements are no hops.
        assert_eq!(
            via_proxy(&[("x-forwarded-for", "203.0.113.7:5555, ")]),
            ip("203.0.113.7")
        );
        assert_eq!(
            via_proxy(&[("x-forwarded-for", "[2001:db8::1]:4711")]),
            ip("2001:db8::1")
        );
        assert_eq!(
            via_proxy(&[("x-forwarded-for", "[2001:db8::2]")]),
            ip("2001:db8::2")
        );
        assert_eq!(
            via_proxy(&[("x-forwarded-for", "2001:db8::3")]),
            ip("2001:db8::3")
        );
    }

    #[test]
    fn when_every_hop_is_trusted_the_leftmost_is_the_client() {
        assert_eq!(
            via_proxy(&[("x-forwarded-for", "192.168.1.9, 10.0.0.3")]),
            ip("192.168.1.9")
        );
    }

    #[test]
    fn a_hop_that_is_no_address_ends_the_walk_at_the_last_trusted_one() {
        assert_eq!(via_proxy(&[("x-forwarded-for", "garbage")]), ip(PROXY));
        assert_eq!(
            via_proxy(&[("x-forwarded-for", "203.0.113.7, garbage, 192.168.1.5")]),
            ip("192.168.1.5")
        );
        // Garbage further left than the client does not matter.
        assert_eq!(
            via_proxy(&[("x-forwarded-for", "garbage, 203.0.113.7")]),
            ip("203.0.113.7")
        );
        assert_eq!(
            via_proxy(&[("forwarded", "for=unknown, for=192.168.1.5")]),
            ip("192.168.1.5")
        );
        assert_eq!(via_proxy(&[("forwarded", "for=_hidden")]), ip(PROXY));
        assert_eq!(via_proxy(&[("forwarded", "proto=https")]), ip(PROXY));
        assert_eq!(via_proxy(&[("forwarded", "for=1.2.3.4;for=5.6.7.8")]), ip(PROXY));
        assert_eq!(via_proxy(&[("forwarded", "for")]), ip(PROXY));
        // An instance that is not text is a hop that is no address.
        let mut h = headers(&[("x-forwarded-for", "203.0.113.7")]);
        h.append(X_FORWARDED_FOR, HeaderValue::from_bytes(b"\xff").unwrap());
        assert_eq!(resolve(ip(PROXY), &nets(&["10.0.0.1/32"]), &h).addr, ip(PROXY));
    }

    #[test]
    fn forwarded_nodes_in_every_rfc_7239_form() {
        for (value, want) in [
            ("for=203.0.113.7", "203.0.113.7"),
            ("For=\"203.0.113.7\"", "203.0.113.7"),
            ("for=\"203.0.113.7:47011\"", "203.0.113.7"),
            ("for=\"203.0.113.7:_p1\"", "203.0.113.7"),
            ("for=\"[2001:db8:cafe::17]\"", "2001:db8:cafe::17"),
            ("for=\"[2001:db8:cafe::17]:4711\"", "2001:db8:cafe::17"),
            ("for=203.0.113.7;proto=https;by=10.0.0.1", "203.0.113.7"),
            ("proto=http; for=203.0.113.7", "203.0.113.7"),
            (
                "for=192.0.2.60;proto=http;by=203.0.113.43, for=203.0.113.7",
                "203.0.113.7",
            ),
            ("for=203.0.113.7, for=192.168.1.5, for=10.0.0.4", "203.0.113.7"),
        ] {
            assert_eq!(via_proxy(&[("forwarded", value)]), ip(want), "{value}");
        }
        for bad in [
            "for=\"[2001:db8::1]:x\"",
            "for=\"203.0.113.7:99999999\"",
            "for=\"[2001:db8::1\"",
            "for=\"203.0.113.7",
            "for=\"203.0.\\\"113.7\"",
            "for=",
        ] {
            assert_eq!(via_proxy(&[("forwarded", bad)]), ip(PROXY), "{bad}");
        }
    }

    #[test]
    fn commas_inside_quotes_do_not_split_and_an_unbalanced_quote_spoils_only_its_side() {
        // A quoted comma stays inside its element (which is not an address: the walk ends).
        assert_eq!(
            via_proxy(&[("forwarded", "for=\"a,b\", for=192.168.1.5")]),
            ip("192.168.1.5")
        );
        // A client's unbalanced quote, left of what the proxy appended.
        assert_eq!(
            via_proxy(&[("forwarded", "for=\"1.1.1.1, for=203.0.113.7")]),
            ip("203.0.113.7")
        );
        assert_eq!(
            via_proxy(&[("forwarded", "for=\"x\\\"y\", for=203.0.113.7")]),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn forwarded_is_preferred_to_x_forwarded_for() {
        assert_eq!(
            via_proxy(&[
                ("x-forwarded-for", "203.0.113.8"),
                ("forwarded", "for=203.0.113.7"),
            ]),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn at_most_max_hops_are_read_from_the_right() {
        let trusted = nets(&["10.0.0.0/8"]);
        let chain = |n: usize| {
            let mut hops: Vec<String> = vec!["203.0.113.7".into()];
            hops.extend((0..n).map(|i| format!("10.1.{}.{}", i / 256, i % 256)));
            hops.join(", ")
        };
        let h = headers(&[("x-forwarded-for", &chain(MAX_HOPS - 1))]);
        assert_eq!(resolve(ip(PROXY), &trusted, &h).addr, ip("203.0.113.7"));
        // One more trusted hop: the client is out of reach, the leftmost hop read is taken.
        let h = headers(&[("x-forwarded-for", &chain(MAX_HOPS))]);
        assert_eq!(resolve(ip(PROXY), &trusted, &h).addr, ip("10.1.0.0"));
    }

    #[test]
    fn ipv4_mapped_addresses_are_their_ipv4_address() {
        let trusted = nets(&["10.0.0.1/32"]);
        let h = headers(&[("x-forwarded-for", "::ffff:203.0.113.7")]);
        assert_eq!(
            resolve(ip("::ffff:10.0.0.1"), &trusted, &h).addr,
            ip("203.0.113.7")
        );
        let o = resolve(ip("::ffff:198.51.100.1"), &trusted, &h);
        assert_eq!(o.addr, ip("198.51.100.1"));
    }

    #[test]
    fn the_scheme_is_what_the_nearest_trusted_proxy_says() {
        let https_of =
            |pairs: &[(&str, &str)]| resolve(ip(PROXY), &nets(&["10.0.0.0/24"]), &headers(pairs)).https;
        assert!(!https_of(&[]));
        assert!(https_of(&[("x-forwarded-proto", "https")]));
        assert!(https_of(&[("x-forwarded-proto", "HTTPS")]));
        assert!(!https_of(&[("x-forwarded-proto", "http")]));
        // The rightmost value is the nearest proxy's.
        assert!(https_of(&[("x-forwarded-proto", "http, https")]));
        assert!(!https_of(&[
            ("x-forwarded-proto", "https"),
            ("x-forwarded-proto", "http")
        ]));
        assert!(https_of(&[("forwarded", "for=1.2.3.4;proto=https")]));
        assert!(https_of(&[("forwarded", "proto=\"https\"")]));
        assert!(!https_of(&[("forwarded", "proto=https, for=1.2.3.4;proto=http")]));
        // With Forwarded read, X-Forwarded-Proto (passed through from anyone) is not.
        assert!(!https_of(&[
            ("forwarded", "for=1.2.3.4"),
            ("x-forwarded-proto", "https")
        ]));
        assert!(!https_of(&[
            ("forwarded", "for=1.2.3.4;proto=http"),
            ("x-forwarded-proto", "https")
        ]));
        // And the other way round.
        let h = headers(&[("forwarded", "for=1.2.3.4;proto=https")]);
        assert!(
            !super::resolve(
                ip(PROXY),
                &nets(&["10.0.0.0/24"]),
                ForwardingHeader::XForwardedFor,
                &h
            )
            .https
        );
    }

    #[test]
    fn rsplit_unquoted_splits_outside_quotes_from_the_right() {
        let parts: Vec<&str> = rsplit_unquoted("a,\"b,c\",d", b',').collect();
        assert_eq!(parts, ["d", "\"b,c\"", "a"]);
        let parts: Vec<&str> = rsplit_unquoted("\"x\\\\\",y", b',').collect();
        assert_eq!(parts, ["y", "\"x\\\\\""]);
        assert_eq!(rsplit_unquoted("", b',').count(), 0);
        let parts: Vec<&str> = rsplit_unquoted(",", b',').collect();
        assert_eq!(parts, ["", ""]);
    }
}
