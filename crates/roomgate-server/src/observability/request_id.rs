//! `X-Request-Id`: the caller's when it is well-formed, a fresh UUID v4 otherwise.
use axum::http::{HeaderMap, HeaderName, HeaderValue};

/// The request and response header carrying the id.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest id accepted from a caller.
pub const MAX_LEN: usize = 128;

/// The id of one request, safe to log and to echo: 1..=128 characters of `[A-Za-z0-9._-]`.
///
/// Handlers can read it from the request's extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// `s` if it is a well-formed id.
    pub fn parse(s: &str) -> Option<Self> {
        let well_formed = (1..=MAX_LEN).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        well_formed.then(|| Self(s.to_owned()))
    }

    /// A fresh random id.
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    /// The caller's id if there is one and it is well-formed, else a fresh one: a malformed id is replaced
    /// rather than refused, so that a logging concern never fails a request.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        headers
            .get(X_REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .and_then(Self::parse)
            .unwrap_or_else(Self::generate)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as a header value.
    pub fn header_value(&self) -> HeaderValue {
        // Only visible ASCII gets past `parse` and `generate`, so this cannot fail.
        HeaderValue::from_str(&self.0).expect("a request id is a valid header value")
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(X_REQUEST_ID, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn well_formed_ids_are_kept() {
        for id in ["a", "req-1.2_3", "ABCxyz019", &"x".repeat(MAX_LEN)] {
            assert_eq!(RequestId::from_headers(&headers(id)).as_str(), id);
        }
    }

    #[test]
    fn malformed_ids_are_replaced_by_a_uuid() {
        let too_long = "x".repeat(MAX_LEN + 1);
        for id in [
            "",
            "has space",
            "semi;colon",
            "new\tline",
            "ünïcode",
            "a/b",
            too_long.as_str(),
        ] {
            let mut h = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(id) {
                h.insert(X_REQUEST_ID, v);
            }
            let got = RequestId::from_headers(&h);
            assert_ne!(got.as_str(), id);
            assert!(uuid::Uuid::parse_str(got.as_str()).is_ok(), "{got}");
        }
    }

    #[test]
    fn non_utf8_ids_are_replaced() {
        let mut h = HeaderMap::new();
        h.insert(X_REQUEST_ID, HeaderValue::from_bytes(b"caf\xe9").unwrap());
        assert!(uuid::Uuid::parse_str(RequestId::from_headers(&h).as_str()).is_ok());
    }

    #[test]
    fn generated_ids_differ() {
        assert_ne!(RequestId::generate(), RequestId::generate());
    }
}
