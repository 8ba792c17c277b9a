//! Request bodies of the login and token endpoints as the official clients send them, read into
//! the endpoint's wire struct: JSON or form-encoded, keys matched to the struct's field names in
//! any case, null the same as absent. The leniencies of single values (numbers as strings,
//! booleans in any case) are the `deserialize_with` helpers below, each with the schema that
//! documents what it accepts; the modeling bodies' wire structs use them too (a column's
//! `precision` as mstrio-py sends it, `"2"`).

use axum::http::{header, HeaderMap};
use serde::de::value::MapDeserializer;
use serde::de::{self, DeserializeOwned, Deserializer, Unexpected, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Not valid JSON or form data, or not an object.
    Malformed(String),
    /// A required field is absent, null or empty.
    Missing(String),
    /// A field has the wrong type or value.
    Invalid(String),
}

/// Reads a JSON object or a form into `T`. An empty body or JSON `null` is an empty object; a
/// JSON body of nothing but white space is not JSON.
/// The body is a form when the content type says so, or when it names no JSON and the body does
/// not start with `{`.
pub fn read<T: DeserializeOwned>(headers: &HeaderMap, bytes: &[u8]) -> Result<T, BodyError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let is_form = content_type.starts_with("application/x-www-form-urlencoded")
        || (!content_type.contains("json") && !bytes.trim_ascii_start().starts_with(b"{"));
    if bytes.is_empty() {
        return from_fields(Map::new());
    }
    if is_form {
        return read_form(bytes);
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(fields)) => from_fields(fields),
        Ok(Value::Null) => from_fields(Map::new()),
        Ok(_) => Err(BodyError::Malformed(
            "Invalid JSON: the body must be a JSON object".into(),
        )),
        Err(e) => Err(BodyError::Malformed(format!("Invalid JSON: {e}"))),
    }
}

/// Reads form-encoded fields (a form body or a query string) into `T`.
pub fn read_form<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BodyError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes)
        .map_err(|e| BodyError::Malformed(format!("Invalid form body: {e}")))?;
    let mut fields = Map::new();
    for (k, v) in pairs {
        // The first of repeated keys counts, as for a JSON object read loosely.
        fields.entry(k).or_insert(Value::String(v));
    }
    from_fields(fields)
}

/// A required text field: present, and not empty.
pub fn required(value: Option<String>, name: &str) -> Result<String, BodyError> {
    value
        .filter(|s| !s.is_empty())
        .ok_or_else(|| BodyError::Missing(format!("The field '{name}' is required")))
}

fn from_fields<T: DeserializeOwned>(fields: Map<String, Value>) -> Result<T, BodyError> {
    serde_path_to_error::deserialize(Fields(fields)).map_err(|e| {
        let path = e.path().to_string();
        BodyError::Invalid(format!("'{path}': {}", e.into_inner()))
    })
}

/// The fields of a body, deserialized as a struct whose field names they match in any case (an
/// exact match first). Fields the struct does not name are left out; null fields too.
struct Fields(Map<String, Value>);

impl Fields {
    fn take(&mut self, name: &str) -> Option<Value> {
        let key = if self.0.contains_key(name) {
            name.to_owned()
        } else {
            self.0.keys().find(|k| k.eq_ignore_ascii_case(name))?.clone()
        };
        self.0.remove(&key).filter(|v| !v.is_null())
    }
}

impl<'de> Deserializer<'de> for Fields {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let mut map = MapDeserializer::new(self.0.into_iter().filter(|(_, v)| !v.is_null()));
        let value = visitor.visit_map(&mut map)?;
        map.end()?;
        Ok(value)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        mut self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let present: Vec<(&'static str, Value)> = fields
            .iter()
            .filter_map(|f| self.take(f).map(|v| (*f, v)))
            .collect();
        let mut map = MapDeserializer::new(present.into_iter());
        let value = visitor.visit_map(&mut map)?;
        map.end()?;
        Ok(value)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

// --- lenient values --------------------------------------------------------------------------

/// ASCII white space, as trimmed around numbers and booleans (and as the schemas' patterns say).
const SPACE: &str = "[ \\t\\n\\f\\r]*";

/// Text: a string, or a number or boolean taken as its text.
pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct Text;
    impl<'de> Visitor<'de> for Text {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_owned()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(Text)
        }
    }
    d.deserialize_option(Text)
}

/// A whole number (64-bit), or its text with white space around it; an empty text is none.
pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    struct Int;
    impl<'de> Visitor<'de> for Int {
        type Value = Option<i64>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a whole number (or its text)")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            i64::try_from(v)
                .map(Some)
                .map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
        }
        /// A whole number written with a fraction (`2.0`) is that number, as JSON Schema counts it.
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            // -2^63 is exact as f64; 2^63 is the first value past i64::MAX.
            if v.fract() == 0.0 && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&v) {
                Ok(Some(v as i64))
            } else {
                Err(E::invalid_value(Unexpected::Float(v), &self))
            }
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let t = v.trim_ascii();
            if t.is_empty() {
                return Ok(None);
            }
            // `+1` is not a number a client sends, and the schema's pattern does not allow it.
            if t.starts_with('+') {
                return Err(E::invalid_value(Unexpected::Str(v), &self));
            }
            t.parse()
                .map(Some)
                .map_err(|_| E::invalid_value(Unexpected::Str(v), &self))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(Int)
        }
    }
    d.deserialize_option(Int)
}

/// A boolean: JSON true/false, the text true/false in any case or 1/0 (white space around it),
/// or the number 1 or 0; an empty text is none.
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    d.deserialize_option(Bool { loose: true })
}

/// A boolean: JSON true/false or the text true/false in any case; null is none.
pub fn true_false<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    d.deserialize_option(Bool { loose: false })
}

/// The visitor of [`flag`] (`loose`) and [`true_false`].
struct Bool {
    loose: bool,
}

impl Bool {
    fn number<E: de::Error>(&self, one: bool, zero: bool, unexpected: Unexpected) -> Result<Option<bool>, E> {
        match (self.loose, one, zero) {
            (true, true, _) => Ok(Some(true)),
            (true, _, true) => Ok(Some(false)),
            (true, _, _) => Err(E::invalid_value(unexpected, self)),
            (false, _, _) => Err(E::invalid_type(unexpected, self)),
        }
    }
}

impl<'de> Visitor<'de> for Bool {
    type Value = Option<bool>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("true or false")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.number(v == 1, v == 0, Unexpected::Signed(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.number(v == 1, v == 0, Unexpected::Unsigned(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        self.number(v == 1.0, v == 0.0, Unexpected::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let t = if self.loose { v.trim_ascii() } else { v };
        if t.eq_ignore_ascii_case("true") || (self.loose && t == "1") {
            Ok(Some(true))
        } else if t.eq_ignore_ascii_case("false") || (self.loose && t == "0") {
            Ok(Some(false))
        } else if self.loose && t.is_empty() {
            Ok(None)
        } else {
            Err(E::invalid_value(Unexpected::Str(v), &self))
        }
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// Any JSON value (kept for the handler to judge); null is none.
pub fn any<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Option::<Value>::deserialize(d)
}

// --- their schemas ---------------------------------------------------------------------------
//
// A form has no null, so the schemas of form fields leave it out (a fuzzer would send the text
// `null`); JSON-only bodies use the `nullable` variants.

fn with_null(types: &[Type], nullable: bool) -> SchemaType {
    let mut all = types.to_vec();
    if nullable {
        all.push(Type::Null);
    }
    SchemaType::from_iter(all)
}

/// The schema of [`text`]: a string, number or boolean.
pub fn text_schema() -> Schema {
    text_of(false)
}

/// [`text_schema`], or null.
pub fn nullable_text_schema() -> Schema {
    text_of(true)
}

fn text_of(nullable: bool) -> Schema {
    ObjectBuilder::new()
        .schema_type(with_null(&[Type::String, Type::Number, Type::Boolean], nullable))
        .into()
}

/// The schema of a required [`text`]: a non-empty string, a number or a boolean.
pub fn required_text_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Number, Type::Boolean]))
        .min_length(Some(1))
        .into()
}

/// A text of [`text`] that must match `pattern` (ECMA-262), or null when `nullable`.
pub fn pattern_schema(pattern: &str, nullable: bool) -> Schema {
    ObjectBuilder::new()
        .schema_type(with_null(&[Type::String], nullable))
        .pattern(Some(pattern))
        .into()
}

/// An object id as text: 32 hex digits, dashes anywhere (the dashed UUID form).
pub const GUID_PATTERN: &str = "^-*([0-9A-Fa-f]-*){32}$";

/// The schema of [`int`] between `min` and `max`: an integer, or its text with ASCII white space
/// around it, or an empty text; `digits` is the pattern of the text's number.
pub fn int_range_schema(min: i64, max: i64, digits: &str, nullable: bool) -> Schema {
    ObjectBuilder::new()
        .schema_type(with_null(&[Type::Integer, Type::String], nullable))
        .minimum(Some(min))
        .maximum(Some(max))
        .pattern(Some(format!("^{SPACE}({digits})?{SPACE}$")))
        .into()
}

/// The schema of [`int`]: a 64-bit integer, its text (up to 18 digits), or an empty text.
pub fn int_schema() -> Schema {
    int_range_schema(i64::MIN, i64::MAX, "-?[0-9]{1,18}", false)
}

/// [`int_schema`], or null.
pub fn nullable_int_schema() -> Schema {
    int_range_schema(i64::MIN, i64::MAX, "-?[0-9]{1,18}", true)
}

/// The schema of [`flag`]: a boolean, the text true/false (any case) or 1/0, or 1 or 0.
pub fn flag_schema() -> Schema {
    flag_of(false)
}

/// [`flag_schema`], or null.
pub fn nullable_flag_schema() -> Schema {
    flag_of(true)
}

fn flag_of(nullable: bool) -> Schema {
    ObjectBuilder::new()
        .schema_type(with_null(&[Type::Boolean, Type::String, Type::Integer], nullable))
        .minimum(Some(0))
        .maximum(Some(1))
        .pattern(Some(format!(
            "^{SPACE}([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|1|0)?{SPACE}$"
        )))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Login {
        #[serde(default, deserialize_with = "int")]
        login_mode: Option<i64>,
        #[serde(default, deserialize_with = "text")]
        username: Option<String>,
        #[serde(default, deserialize_with = "flag")]
        remember_me: Option<bool>,
    }

    fn h(ct: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
        h
    }

    #[test]
    fn form_and_json_read_alike() {
        let f: Login = read(
            &h("application/x-www-form-urlencoded"),
            b"loginMode=1&username=a&password=b&rememberMe=TRUE",
        )
        .unwrap();
        let j: Login = read(
            &h("application/json"),
            br#"{"loginmode":1,"USERNAME":"a","password":"b","rememberme":" 1 "}"#,
        )
        .unwrap();
        for b in [&f, &j] {
            assert_eq!(b.login_mode, Some(1));
            assert_eq!(b.username.as_deref(), Some("a"));
            assert_eq!(b.remember_me, Some(true));
        }
    }

    #[test]
    fn values_are_read_leniently_and_errors_name_the_field() {
        let j: Login = read(&h("application/json"), br#"{"loginMode":" -1 ","username":42}"#).unwrap();
        assert_eq!(j.login_mode, Some(-1));
        assert_eq!(j.username.as_deref(), Some("42"));
        let j: Login = read(&h("application/json"), br#"{"loginMode":"","username":null}"#).unwrap();
        assert_eq!((j.login_mode, j.username), (None, None));
        let j: Login = read(&h("application/json"), br#"{"loginMode":2.0,"rememberMe":1.0}"#).unwrap();
        assert_eq!((j.login_mode, j.remember_me), (Some(2), Some(true)));
        let j: Login = read(&HeaderMap::new(), b"").unwrap();
        assert_eq!(j.login_mode, None);

        for (body, field) in [
            (&br#"{"loginMode":"yes"}"#[..], "loginMode"),
            (br#"{"loginMode":1.5}"#, "loginMode"),
            (br#"{"loginMode":9.3e18}"#, "loginMode"),
            (br#"{"loginMode":99999999999999999999}"#, "loginMode"),
            (br#"{"username":["a"]}"#, "username"),
            (br#"{"rememberMe":"maybe"}"#, "rememberMe"),
            (br#"{"rememberMe":2}"#, "rememberMe"),
        ] {
            match read::<Login>(&h("application/json"), body) {
                Err(BodyError::Invalid(m)) => assert!(m.starts_with(&format!("'{field}'")), "{m}"),
                other => panic!("{other:?}"),
            }
        }
        for body in [&b"{nope"[..], b"[1]", b"\"a\"", b"{} trailing"] {
            assert!(matches!(
                read::<Login>(&h("application/json"), body),
                Err(BodyError::Malformed(_))
            ));
        }
        assert!(matches!(
            required(Some(String::new()), "username"),
            Err(BodyError::Missing(_))
        ));
    }
}
