//! Strict JSON parsing: like `serde_json::from_slice::<Value>`, but a duplicate member name
//! anywhere (at any depth) is an error instead of "last one wins".

use std::{cell::Cell, fmt};

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Parse `bytes` as one JSON value, rejecting duplicate member names at any depth.
///
/// Used for token headers and payloads, and by the server for request bodies: a body whose meaning depends on
/// which of two equal names a parser keeps is refused rather than read one way here and another way by a proxy
/// in front.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, JsonError> {
    let duplicate = Cell::new(false);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = StrictValue(&duplicate)
        .deserialize(&mut de)
        .and_then(|value| de.end().map(|()| value));
    parsed.map_err(|e| match duplicate.get() {
        true => JsonError::DuplicateMember {
            line: e.line(),
            column: e.column(),
        },
        false => JsonError::Syntax(e),
    })
}

/// Why [`parse_strict`] refused its input.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// An object names a member twice; the position is just after the second name.
    #[error("duplicate member name at line {line} column {column}")]
    DuplicateMember {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// Not one JSON value (syntax, encoding, trailing data, nesting too deep, a number out of range).
    #[error(transparent)]
    Syntax(serde_json::Error),
}

impl JsonError {
    /// The 1-based line where parsing stopped.
    pub fn line(&self) -> usize {
        match self {
            Self::DuplicateMember { line, .. } => *line,
            Self::Syntax(e) => e.line(),
        }
    }

    /// The 1-based column where parsing stopped.
    pub fn column(&self) -> usize {
        match self {
            Self::DuplicateMember { column, .. } => *column,
            Self::Syntax(e) => e.column(),
        }
    }
}

/// Parse `bytes` as a strict JSON object (see [`parse_strict`]).
pub(crate) fn parse_strict_object(bytes: &[u8]) -> Option<Map<String, Value>> {
    match parse_strict(bytes) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// Seed/visitor building a [`Value`] while refusing duplicate object keys; it flags a duplicate in the cell, so
/// the caller tells that error from the others without reading its text.
#[derive(Clone, Copy)]
struct StrictValue<'a>(&'a Cell<bool>);

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value without duplicate member names")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(16));
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                self.0.set(true);
                return Err(de::Error::custom("duplicate member name"));
            }
            let value = access.next_value_seed(self)?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_serde_json() {
        let text = br#"{"a":[1,-2,3.5,"x",null,true,{"b":{}}],"c":"\u00e9"}"#;
        let expected: Value = serde_json::from_slice(text).unwrap();
        assert_eq!(parse_strict(text).unwrap(), expected);
    }

    #[test]
    fn rejects_duplicates_at_any_depth() {
        assert!(parse_strict(br#"{"a":1,"a":2}"#).is_err());
        assert!(parse_strict(br#"{"a":1,"b":{"c":1,"c":1}}"#).is_err());
        assert!(parse_strict(br#"[{"x":[{"y":0,"y":0}]}]"#).is_err());
        // Escaped spelling of the same name is still the same name.
        assert!(parse_strict(br#"{"alg":"EdDSA","\u0061lg":"none"}"#).is_err());
        // serde_json itself would take the last one: make sure we differ.
        let lax: Value = serde_json::from_slice(br#"{"a":1,"a":2}"#).unwrap();
        assert_eq!(lax["a"], 2);
    }

    #[test]
    fn a_duplicate_is_its_own_error_with_its_position() {
        match parse_strict(b"{\"a\":1,\n \"a\":2}") {
            Err(JsonError::DuplicateMember { line: 2, column }) => assert!(column >= 4, "{column}"),
            other => panic!("expected a duplicate member, got {other:?}"),
        }
        // Syntax errors, even ones mentioning the word, are not duplicates.
        for bad in [&b"{\"a\":1,}"[..], b"{\"duplicate member name\" 1}", b"[1] [2]"] {
            assert!(matches!(parse_strict(bad), Err(JsonError::Syntax(_))), "{bad:?}");
        }
    }

    #[test]
    fn rejects_trailing_garbage_bad_utf8_and_huge_numbers() {
        assert!(parse_strict(br#"{"a":1} x"#).is_err());
        assert!(parse_strict(br#"{"a":1}{}"#).is_err());
        assert!(parse_strict(b"{\"a\":\"\xff\"}").is_err());
        assert!(parse_strict(br#"{"a":1e400}"#).is_err());
        assert!(parse_strict(b"").is_err());
    }

    #[test]
    fn object_helper() {
        assert!(parse_strict_object(br#"{"a":1}"#).is_some());
        assert!(parse_strict_object(b"[1]").is_none());
        assert!(parse_strict_object(b"\"s\"").is_none());
        assert!(parse_strict_object(br#"{"a":1,"a":1}"#).is_none());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(5000);
        assert!(parse_strict(deep.as_bytes()).is_err());
    }
}
