//! The one error type of the client.
use reqwest::StatusCode;
use roomgate_types::{ErrorBody, ErrorObject};

/// Everything a call can fail with. Nothing in this crate panics on bad input or bad responses.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with a non-2xx status and a Telnyx error.
    ///
    /// If the body was not a Telnyx error (say, a proxy's HTML page), `error` is made up from the status:
    /// empty `code`, the status's reason as `title`, and the start of the body as `detail`.
    #[error("{status}: {}{}", error.title, error.detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Api {
        /// The HTTP status.
        status: StatusCode,
        /// The first (for roomgate, the only) error of the body; boxed to keep `Result`s small.
        error: Box<ErrorObject>,
    },
    /// No response: the connection failed, timed out or broke (after any retries).
    #[error("request failed: {0}")]
    Transport(#[source] reqwest::Error),
    /// A 2xx response whose body is not what the API promises.
    #[error("could not decode the {status} response: {source}")]
    Decode {
        /// The HTTP status.
        status: StatusCode,
        /// What did not match.
        #[source]
        source: serde_json::Error,
    },
    /// The call needs an API key and none was configured.
    #[error("no API key: set one on the builder, or ROOMGATE_API_KEY or TELNYX_API_KEY in the environment")]
    MissingApiKey,
    /// The client was configured with an unusable value.
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// An argument cannot be put in a request (an empty room id, or `..`); nothing was sent.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl Error {
    /// The HTTP status, if the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api { status, .. } | Error::Decode { status, .. } => Some(*status),
            Error::Transport(e) => e.status(),
            Error::MissingApiKey | Error::Config(_) | Error::InvalidArgument(_) => None,
        }
    }

    /// The Telnyx error code (`"10005"`), if the server sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { error, .. } if !error.code.is_empty() => Some(&error.code),
            _ => None,
        }
    }

    /// The Telnyx error, if the server sent one.
    pub fn api_error(&self) -> Option<&ErrorObject> {
        match self {
            Error::Api { error, .. } => Some(error),
            _ => None,
        }
    }

    /// 404: the room (or path) does not exist.
    pub fn is_not_found(&self) -> bool {
        self.has_status(StatusCode::NOT_FOUND)
    }

    /// 401: the API key is missing, unknown or revoked.
    pub fn is_unauthorized(&self) -> bool {
        self.has_status(StatusCode::UNAUTHORIZED)
    }

    /// 403: for example a refresh token that is not valid for the room.
    pub fn is_forbidden(&self) -> bool {
        self.has_status(StatusCode::FORBIDDEN)
    }

    /// 422: a parameter is missing, of the wrong type, out of range or a duplicate.
    pub fn is_invalid(&self) -> bool {
        self.has_status(StatusCode::UNPROCESSABLE_ENTITY)
    }

    /// 429: rate limited (returned only once the retries are spent).
    pub fn is_rate_limited(&self) -> bool {
        self.has_status(StatusCode::TOO_MANY_REQUESTS)
    }

    /// A 5xx answer, or no answer at all: the fault is not in the request.
    pub fn is_server_or_transport(&self) -> bool {
        matches!(self, Error::Transport(_)) || self.status().is_some_and(|s| s.is_server_error())
    }

    /// The request timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Transport(e) if e.is_timeout())
    }

    fn has_status(&self, status: StatusCode) -> bool {
        matches!(self, Error::Api { status: s, .. } if *s == status)
    }

    /// Builds the error of a non-2xx response from its status and body.
    pub(crate) fn from_response(status: StatusCode, body: &[u8]) -> Self {
        let parsed = serde_json::from_slice::<ErrorBody>(body)
            .ok()
            .and_then(|b| b.errors.into_iter().next());
        let error = parsed.unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            ErrorObject {
                code: String::new(),
                title: status.canonical_reason().unwrap_or("Error").to_owned(),
                detail: (!text.is_empty()).then(|| text.chars().take(200).collect()),
                source: None,
                meta: None,
            }
        });
        Error::Api {
            status,
            error: Box::new(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telnyx_bodies_are_parsed() {
        let body =
            br#"{"errors":[{"code":"10005","title":"Resource not found","detail":"Room not found."}]}"#;
        let e = Error::from_response(StatusCode::NOT_FOUND, body);
        assert!(e.is_not_found());
        assert_eq!(e.code(), Some("10005"));
        assert_eq!(e.status(), Some(StatusCode::NOT_FOUND));
        assert_eq!(
            e.to_string(),
            "404 Not Found: Resource not found: Room not found."
        );
    }

    #[test]
    fn foreign_bodies_become_an_api_error_from_the_status() {
        let e = Error::from_response(StatusCode::BAD_GATEWAY, b"<html>upstream down</html>");
        assert_eq!(e.code(), None);
        assert!(e.is_server_or_transport());
        let api = e.api_error().unwrap();
        assert_eq!(api.title, "Bad Gateway");
        assert_eq!(api.detail.as_deref(), Some("<html>upstream down</html>"));
        let empty = Error::from_response(StatusCode::NOT_FOUND, b"");
        assert!(empty.is_not_found());
        assert_eq!(empty.api_error().unwrap().detail, None);
    }
}
