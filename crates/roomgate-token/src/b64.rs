//! Strict unpadded base64url (RFC 7515 §2 "Base64url Encoding").

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::TokenError;

/// Encode bytes as unpadded base64url.
pub(crate) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Append the unpadded base64url encoding of `bytes` to `out`.
pub(crate) fn encode_into(bytes: &[u8], out: &mut String) {
    URL_SAFE_NO_PAD.encode_string(bytes, out);
}

/// Length of the unpadded base64url encoding of `n` bytes.
pub(crate) const fn encoded_len(n: usize) -> usize {
    (n * 4).div_ceil(3)
}

/// Decode strict unpadded base64url: rejects `=`, `+`, `/`, whitespace and non-zero trailing bits.
pub(crate) fn decode(segment: &str, what: &'static str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| TokenError::Malformed(what))
}

/// Decode strict unpadded base64url into exactly `N` bytes.
pub(crate) fn decode_array<const N: usize>(segment: &str, what: &'static str) -> Result<[u8; N], TokenError> {
    // Check the length first so a huge segment is never decoded.
    if segment.len() != encoded_len(N) {
        return Err(TokenError::Malformed(what));
    }
    let mut out = [0u8; N];
    match URL_SAFE_NO_PAD.decode_slice(segment, &mut out) {
        Ok(n) if n == N => Ok(out),
        _ => Err(TokenError::Malformed(what)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_lengths() {
        for n in 0..70 {
            let bytes: Vec<u8> = (0..n as u8).collect();
            let s = encode(&bytes);
            assert_eq!(s.len(), encoded_len(n));
            assert_eq!(decode(&s, "x").unwrap(), bytes);
        }
    }

    #[test]
    fn rejects_padding_alphabet_whitespace_and_trailing_bits() {
        // "a" encodes as "YQ"; "YR" has non-zero trailing bits.
        assert_eq!(decode("YQ", "x").unwrap(), b"a");
        for bad in [
            "YQ==", "YQ=", "YR", "Y Q", "YQ\n", " YQ", "+/8", "a+b", "a/b", "Y", "YQ.", "é",
        ] {
            assert!(decode(bad, "x").is_err(), "{bad:?} accepted");
        }
        // '-' and '_' are the url-safe replacements and must be accepted.
        assert_eq!(decode("-_8", "x").unwrap(), vec![0xfb, 0xff]);
    }

    #[test]
    fn decode_array_is_exact() {
        let s = encode(&[7u8; 32]);
        assert_eq!(decode_array::<32>(&s, "x").unwrap(), [7u8; 32]);
        assert!(decode_array::<32>(&encode(&[7u8; 31]), "x").is_err());
        assert!(decode_array::<32>(&encode(&[7u8; 33]), "x").is_err());
        let mut padded = s.clone();
        padded.push('=');
        assert!(decode_array::<32>(&padded, "x").is_err());
        // Same length, non-canonical final character (trailing bits set).
        let mut tweaked = s.into_bytes();
        let last = tweaked.len() - 1;
        tweaked[last] = b'x';
        assert!(decode_array::<32>(std::str::from_utf8(&tweaked).unwrap(), "x").is_err());
    }
}
