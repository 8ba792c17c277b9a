//! Request bodies as the official clients send them: JSON or form-encoded, with numbers sometimes
//! as strings and booleans in any case. Parsed by hand so that every malformed body gets the
//! dialect's own error instead of the framework's.

use axum::http::{header, HeaderMap};
use serde_json::{Map, Value};

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Not valid JSON (or not an object where one is needed).
    Malformed(String),
    /// A required field is absent or empty.
    Missing(String),
    /// A field has the wrong type or value.
    Invalid(String),
}

/// A flat body: its fields by name, matched case-insensitively.
#[derive(Debug, Clone, Default)]
pub struct LooseBody {
    fields: Map<String, Value>,
}

impl LooseBody {
    /// Reads a JSON object or a form. An empty body is an empty object.
    pub fn parse(headers: &HeaderMap, bytes: &[u8]) -> Result<LooseBody, BodyError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(LooseBody::default());
        }
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let is_form = content_type.starts_with("application/x-www-form-urlencoded")
            || (!content_type.contains("json") && !bytes.trim_ascii_start().starts_with(b"{"));
        if is_form {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes)
                .map_err(|e| BodyError::Malformed(format!("Invalid form body: {e}")))?;
            let fields = pairs.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
            return Ok(LooseBody { fields });
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(fields)) => Ok(LooseBody { fields }),
            Ok(Value::Null) => Ok(LooseBody::default()),
            Ok(_) => Err(BodyError::Malformed(
                "Invalid JSON: the body must be a JSON object".into(),
            )),
            Err(e) => Err(BodyError::Malformed(format!("Invalid JSON: {e}"))),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields
            .get(name)
            .or_else(|| {
                self.fields
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v)
            })
            .filter(|v| !v.is_null())
    }

    /// A string field; numbers and booleans are taken as their text.
    pub fn str(&self, name: &str) -> Result<Option<String>, BodyError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(BodyError::Invalid(format!("'{name}' must be a string"))),
        }
    }

    pub fn required_str(&self, name: &str) -> Result<String, BodyError> {
        match self.str(name)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(BodyError::Missing(format!("The field '{name}' is required"))),
        }
    }

    /// An integer field, given as a number or a numeric string.
    pub fn int(&self, name: &str) -> Result<Option<i64>, BodyError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| BodyError::Invalid(format!("'{name}' must be a whole number"))),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| BodyError::Invalid(format!("'{name}' must be a whole number, not '{s}'"))),
            Some(_) => Err(BodyError::Invalid(format!("'{name}' must be a whole number"))),
        }
    }

    /// A boolean field: true/false in any case, as JSON or text; also 1/0.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, BodyError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => {
                let text = match v {
                    Value::String(s) => s.trim().to_ascii_lowercase(),
                    other => other.to_string(),
                };
                match text.as_str() {
                    "true" | "1" => Ok(Some(true)),
                    "false" | "0" => Ok(Some(false)),
                    "" => Ok(None),
                    _ => Err(BodyError::Invalid(format!("'{name}' must be true or false"))),
                }
            }
        }
    }
}

/// A boolean query value in any case (`true`, `True`, `1`).
pub fn query_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn h(ct: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
        h
    }

    #[test]
    fn form_and_json_read_alike() {
        let f = LooseBody::parse(
            &h("application/x-www-form-urlencoded"),
            b"loginMode=1&username=a&password=b",
        )
        .unwrap();
        let j = LooseBody::parse(
            &h("application/json"),
            br#"{"loginmode":1,"username":"a","password":"b"}"#,
        )
        .unwrap();
        for b in [&f, &j] {
            assert_eq!(b.int("loginMode").unwrap(), Some(1));
            assert_eq!(b.required_str("username").unwrap(), "a");
        }
        assert!(matches!(
            LooseBody::parse(&h("application/json"), b"{nope").unwrap_err(),
            BodyError::Malformed(_)
        ));
        let j = LooseBody::parse(&h("application/json"), br#"{"loginMode":"-1","x":"yes"}"#).unwrap();
        assert_eq!(j.int("loginMode").unwrap(), Some(-1));
        assert!(j.int("x").is_err());
        assert!(j.required_str("identityToken").is_err());
        assert_eq!(
            LooseBody::parse(&HeaderMap::new(), b"")
                .unwrap()
                .int("a")
                .unwrap(),
            None
        );
        let s = LooseBody::parse(&h("application/json"), br#"{"remember_me":"TRUE"}"#).unwrap();
        assert_eq!(s.bool("remember_me").unwrap(), Some(true));
    }
}
