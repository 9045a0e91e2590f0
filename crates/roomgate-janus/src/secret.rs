//! Secrets the bridge holds: the admin secret, the rooms' secrets and the participants' Janus tokens. None of them
//! shows in `Debug` or in a log line.

use std::fmt;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What every participant token made by the bridge starts with.
const TOKEN_PREFIX: &str = "rgj-";

/// A secret string, redacted in `Debug`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret given by the operator.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// A fresh random secret: 32 bytes from the OS, base64url.
    pub fn random() -> Self {
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes).expect("the OS random source");
        Secret(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A participant's Janus token: `rgj-<participant id>-<32 random bytes>`, so that a restarted bridge can
    /// tell its own tokens in Janus and whose they were.
    pub fn participant_token(participant: uuid::Uuid) -> Self {
        Secret(format!("{TOKEN_PREFIX}{participant}-{}", Secret::random().0))
    }

    /// The participant a token of [`Self::participant_token`]'s form was made for.
    pub fn participant_of(token: &str) -> Option<uuid::Uuid> {
        let rest = token.strip_prefix(TOKEN_PREFIX)?;
        rest.get(..36)?
            .parse()
            .ok()
            .filter(|_| rest.as_bytes().get(36) == Some(&b'-'))
    }

    /// The secret of a room, derived from the admin secret (HMAC-SHA256) so that a restarted bridge still
    /// knows the secrets of the rooms it created.
    pub fn for_room(admin_secret: &Secret, room: &str) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(admin_secret.0.as_bytes()).expect("any key length");
        mac.update(b"roomgate-janus room secret\0");
        mac.update(room.as_bytes());
        Secret(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }

    /// The secret itself, to send it where it belongs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug() {
        let s = Secret::new("janusoverlord");
        assert!(!format!("{s:?}").contains("janusoverlord"));
    }

    #[test]
    fn room_secrets_are_stable_per_room_and_admin_secret() {
        let admin = Secret::new("a");
        assert_eq!(Secret::for_room(&admin, "r1"), Secret::for_room(&admin, "r1"));
        assert_ne!(Secret::for_room(&admin, "r1"), Secret::for_room(&admin, "r2"));
        assert_ne!(
            Secret::for_room(&admin, "r1"),
            Secret::for_room(&Secret::new("b"), "r1")
        );
        assert_ne!(Secret::random(), Secret::random());
    }

    #[test]
    fn participant_tokens_name_their_participant_and_nothing_else_parses() {
        let id = uuid::Uuid::new_v4();
        let token = Secret::participant_token(id);
        assert_eq!(Secret::participant_of(token.expose()), Some(id));
        assert_ne!(token, Secret::participant_token(id));
        for other in [
            "",
            "rgj-",
            "rgj-not-a-uuid",
            &format!("rgj-{id}"),
            &format!("x{}", token.expose()),
        ] {
            assert_eq!(Secret::participant_of(other), None, "{other}");
        }
    }
}
