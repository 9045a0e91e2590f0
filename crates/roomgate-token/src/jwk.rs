//! RFC 8037 OKP JSON Web Keys (public Ed25519 keys only).

use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};

use crate::{b64, TokenError, VerificationKey};

/// RFC 8037 OKP JWK. Serialize: {"kty":"OKP","crv":"Ed25519","x":..,"kid":..,"alg":"EdDSA","use":"sig"}.
///
/// Deserializing a JWK that carries a private `"d"` member fails: private keys are never
/// accepted through this type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "JwkRepr")]
pub struct Jwk {
    /// Key type; must be `"OKP"`.
    pub kty: String,
    /// Curve; must be `"Ed25519"`.
    pub crv: String,
    /// The 32-byte public key, base64url without padding.
    pub x: String,
    /// Key id; defaults to the RFC 7638 thumbprint when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Algorithm; `"EdDSA"` when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Public key use; `"sig"` when present.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
}

/// What is actually read off the wire; `d` is only noticed, never kept.
#[derive(Deserialize)]
struct JwkRepr {
    kty: String,
    crv: String,
    x: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default, rename = "use")]
    use_: Option<String>,
    #[serde(default, deserialize_with = "present")]
    d: bool,
}

/// `true` whenever the member exists, whatever its value (even `null`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d).map(|_| true)
}

impl TryFrom<JwkRepr> for Jwk {
    type Error = &'static str;

    fn try_from(r: JwkRepr) -> Result<Self, Self::Error> {
        if r.d {
            return Err("JWK contains a private key (\"d\"); only public keys are accepted");
        }
        Ok(Jwk {
            kty: r.kty,
            crv: r.crv,
            x: r.x,
            kid: r.kid,
            alg: r.alg,
            use_: r.use_,
        })
    }
}

/// The members RFC 7638 hashes for an OKP key, in lexicographic order.
#[derive(Serialize)]
struct ThumbprintInput<'a> {
    crv: &'a str,
    kty: &'a str,
    x: &'a str,
}

impl Jwk {
    /// RFC 7638 thumbprint: base64url SHA-256 of `{"crv":..,"kty":..,"x":..}`.
    pub fn thumbprint(&self) -> String {
        let input = ThumbprintInput {
            crv: &self.crv,
            kty: &self.kty,
            x: &self.x,
        };
        // Serializing three strings into a Vec cannot fail.
        let json = serde_json::to_vec(&input).unwrap_or_default();
        b64::encode(&Sha256::digest(&json))
    }

    /// The public key this JWK describes; requires kty OKP, crv Ed25519, a 32-byte x, alg EdDSA and use sig if present.
    pub fn to_verification_key(&self) -> Result<VerificationKey, TokenError> {
        if self.kty != "OKP" {
            return Err(TokenError::InvalidKey("kty must be OKP"));
        }
        if self.crv != "Ed25519" {
            return Err(TokenError::InvalidKey("crv must be Ed25519"));
        }
        if let Some(alg) = &self.alg {
            if alg != "EdDSA" && alg != "Ed25519" {
                return Err(TokenError::InvalidKey("alg must be EdDSA"));
            }
        }
        if self.use_.as_deref().is_some_and(|u| u != "sig") {
            return Err(TokenError::InvalidKey("use must be sig"));
        }
        let x = b64::decode_array::<32>(&self.x, "x")
            .map_err(|_| TokenError::InvalidKey("x must be 32 bytes of base64url"))?;
        let kid = match &self.kid {
            Some(kid) => kid.clone(),
            None => self.thumbprint(),
        };
        VerificationKey::from_bytes(kid, &x)
    }
}

/// A JWK Set: `{"keys":[..]}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    fn jwk() -> Jwk {
        Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: X.into(),
            kid: Some("k1".into()),
            alg: Some("EdDSA".into()),
            use_: Some("sig".into()),
        }
    }

    #[test]
    fn serializes_exact_shape() {
        assert_eq!(
            serde_json::to_string(&jwk()).unwrap(),
            format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{X}","kid":"k1","alg":"EdDSA","use":"sig"}}"#)
        );
        let bare = Jwk {
            kid: None,
            alg: None,
            use_: None,
            ..jwk()
        };
        assert_eq!(
            serde_json::to_string(&bare).unwrap(),
            format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{X}"}}"#)
        );
        let back: Jwk = serde_json::from_str(&serde_json::to_string(&jwk()).unwrap()).unwrap();
        assert_eq!(back, jwk());
    }

    #[test]
    fn rfc7638_thumbprint_of_rfc8037_key() {
        // RFC 8037 Appendix A.3.
        assert_eq!(jwk().thumbprint(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
        // kid, alg and use are not part of the thumbprint.
        let bare = Jwk {
            kid: None,
            alg: None,
            use_: None,
            ..jwk()
        };
        assert_eq!(bare.thumbprint(), jwk().thumbprint());
        assert_eq!(bare.to_verification_key().unwrap().kid(), jwk().thumbprint());
        assert_eq!(jwk().to_verification_key().unwrap().kid(), "k1");
    }

    #[test]
    fn refuses_private_keys() {
        let with_d = format!(
            r#"{{"kty":"OKP","crv":"Ed25519","x":"{X}","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}}"#
        );
        assert!(serde_json::from_str::<Jwk>(&with_d).is_err());
        let null_d = format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{X}","d":null}}"#);
        assert!(serde_json::from_str::<Jwk>(&null_d).is_err());
        let in_set = format!(r#"{{"keys":[{with_d}]}}"#);
        assert!(serde_json::from_str::<Jwks>(&in_set).is_err());
        // Other unknown members are fine.
        let extra = format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{X}","ext":true}}"#);
        assert!(serde_json::from_str::<Jwk>(&extra).is_ok());
    }

    #[test]
    fn refuses_wrong_kty_crv_alg_use_and_x() {
        let cases = [
            Jwk {
                kty: "EC".into(),
                ..jwk()
            },
            Jwk {
                kty: "okp".into(),
                ..jwk()
            },
            Jwk {
                crv: "X25519".into(),
                ..jwk()
            },
            Jwk {
                crv: "Ed448".into(),
                ..jwk()
            },
            Jwk {
                alg: Some("ES256".into()),
                ..jwk()
            },
            Jwk {
                use_: Some("enc".into()),
                ..jwk()
            },
            Jwk {
                x: X[..42].into(),
                ..jwk()
            },
            Jwk {
                x: format!("{X}A"),
                ..jwk()
            },
            Jwk {
                x: format!("{X}="),
                ..jwk()
            },
            Jwk {
                x: X.replace('_', "/"),
                ..jwk()
            },
            // Small-order (weak) point: the identity.
            Jwk {
                x: b64::encode(&{
                    let mut b = [0u8; 32];
                    b[0] = 1;
                    b
                }),
                ..jwk()
            },
        ];
        for case in cases {
            assert!(
                matches!(case.to_verification_key(), Err(TokenError::InvalidKey(_))),
                "{case:?} accepted"
            );
        }
    }
}
