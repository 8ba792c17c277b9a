//! W3C Trace Context (`traceparent`, https://www.w3.org/TR/trace-context/): a request that names a
//! trace keeps it. Its trace id is logged on the request's access line, and the response carries a
//! `traceparent` of the same trace with this server's own span id, so a caller or proxy can join
//! its trace to ours. A header that does not parse is ignored, as the specification asks.

use axum::http::HeaderValue;

/// The trace a request belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    /// 32 lowercase hex digits, not all zero.
    trace_id: [u8; 32],
    /// The sampling flags, as two hex digits.
    flags: [u8; 2],
}

fn is_hex(b: &[u8]) -> bool {
    b.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

impl TraceParent {
    /// `version-traceid-parentid-flags`. Version `00` is exactly that; a later version may add
    /// fields after a `-`, which are ignored. Version `ff`, uppercase hex, and all-zero ids are
    /// invalid.
    pub fn parse(value: &HeaderValue) -> Option<TraceParent> {
        let v = value.as_bytes();
        if v.len() < 55 || v[2] != b'-' || v[35] != b'-' || v[52] != b'-' {
            return None;
        }
        let (version, trace, parent, flags) = (&v[0..2], &v[3..35], &v[36..52], &v[53..55]);
        if !(is_hex(version) && is_hex(trace) && is_hex(parent) && is_hex(flags)) || version == b"ff" {
            return None;
        }
        if (version == b"00" && v.len() != 55) || (v.len() > 55 && v[55] != b'-') {
            return None;
        }
        if trace.iter().all(|c| *c == b'0') || parent.iter().all(|c| *c == b'0') {
            return None;
        }
        let mut t = TraceParent {
            trace_id: [0; 32],
            flags: [0; 2],
        };
        t.trace_id.copy_from_slice(trace);
        t.flags.copy_from_slice(flags);
        Some(t)
    }

    pub fn trace_id(&self) -> &str {
        // Checked to be ASCII hex when parsed.
        std::str::from_utf8(&self.trace_id).unwrap_or_default()
    }

    /// The `traceparent` of the response: the same trace and flags, with `span` (this server's
    /// handling of the request) as the parent id.
    pub fn answer(&self, span: u64) -> Option<HeaderValue> {
        let span = span.max(1);
        let flags = std::str::from_utf8(&self.flags).unwrap_or("00");
        HeaderValue::from_str(&format!("00-{}-{span:016x}-{flags}", self.trace_id())).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Option<TraceParent> {
        TraceParent::parse(&HeaderValue::from_str(s).expect("header"))
    }

    #[test]
    fn the_specifications_example_is_read_and_answered() {
        let t = parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").expect("valid");
        assert_eq!(t.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        let answer = t.answer(0xabc).expect("answer");
        assert_eq!(answer, "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000abc-01");
        assert!(parse(answer.to_str().unwrap_or_default()).is_some());
    }

    #[test]
    fn later_versions_may_add_fields() {
        let t = parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-what-ever");
        assert!(t.is_some());
    }

    #[test]
    fn malformed_headers_are_ignored() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
