//! Minting for an API key: an access token and a refresh token for one of its account's rooms.
use roomgate_store::KeyAuth;
use roomgate_token::{Claims, Participant, TokenKind, TokenSpec};
use uuid::Uuid;

use super::{account_subject, AccessTtl, RefreshTtl};

/// What a create request asks for, authorized and parsed.
#[derive(Clone, Debug)]
pub struct Pair<'a> {
    /// The API key asking, whose account the tokens name.
    pub key: KeyAuth,
    /// The account's room they let their holder join.
    pub room_id: Uuid,
    /// This server's `iss`.
    pub issuer: &'a str,
    /// This server's `aud`.
    pub audience: &'a str,
    /// The access token's lifetime.
    pub ttl: AccessTtl,
    /// The refresh token's lifetime.
    pub refresh_ttl: RefreshTtl,
    /// Who the participant is and what it may do (version 2 tokens), if given.
    pub participant: Option<&'a Participant>,
}

/// The claims of a minted pair, not signed yet.
#[derive(Clone, Debug)]
pub struct Minted {
    /// The access token's.
    pub access: Claims,
    /// The refresh token's; it names the API key that asked, so revoking the key stops its refreshes.
    pub refresh: Claims,
}

impl Pair<'_> {
    /// The pair's claims, issued at `now`.
    pub fn mint(&self, now: i64) -> Minted {
        if let Some(identity) = self.participant.and_then(|p| p.identity.as_deref()) {
            // Identities may be personal data: never at info level.
            tracing::debug!(room_id = %self.room_id, identity, "minting for a participant");
        }
        let access = TokenSpec {
            kind: TokenKind::Access,
            room_id: self.room_id,
            subjects: vec![account_subject(self.key.account_id)],
            issuer: self.issuer,
            audience: self.audience,
            ttl_secs: self.ttl.get(),
            participant: self.participant,
        };
        let refresh = TokenSpec {
            kind: TokenKind::Refresh,
            ttl_secs: self.refresh_ttl.get(),
            ..access.clone()
        };
        let mut refresh = Claims::mint(&refresh, now);
        refresh.api_key_id = Some(self.key.api_key_id);
        Minted {
            access: Claims::mint(&access, now),
            refresh,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map, Value};

    fn ttl<T>(parse: impl Fn(&Map<String, Value>, &str) -> Result<T, crate::ApiError>, secs: i64) -> T {
        parse(json!({ "t": secs }).as_object().unwrap(), "t").unwrap()
    }

    #[test]
    fn a_pair_names_the_account_the_room_and_the_key_with_each_its_lifetime() {
        let key = KeyAuth {
            api_key_id: Uuid::from_u128(1),
            account_id: Uuid::from_u128(2),
        };
        let room_id = Uuid::from_u128(3);
        let minted = Pair {
            key,
            room_id,
            issuer: "https://issuer.example",
            audience: "media.example",
            ttl: ttl(AccessTtl::parse, 60),
            refresh_ttl: ttl(RefreshTtl::parse, 7200),
            participant: None,
        }
        .mint(1000);
        for (claims, kind, exp) in [
            (&minted.access, TokenKind::Access, 1060),
            (&minted.refresh, TokenKind::Refresh, 8200),
        ] {
            assert_eq!(
                (claims.typ, claims.exp, claims.iat),
                (kind, exp, 1000),
                "{kind:?}"
            );
            assert_eq!(claims.room_id(), Some(room_id), "{kind:?}");
            assert_eq!(
                (claims.iss.as_str(), claims.aud.as_str()),
                ("https://issuer.example", "media.example")
            );
            assert!(claims
                .grants
                .iter()
                .all(|g| g.subjects == [account_subject(key.account_id)]));
        }
        assert_eq!(minted.access.api_key_id, None, "access tokens name no key");
        assert_eq!(minted.refresh.api_key_id, Some(key.api_key_id));
        assert_ne!(minted.access.jti, minted.refresh.jti);
    }
}
