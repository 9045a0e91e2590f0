//! The token crate from the outside: RFC 8037's vectors, every rejection rule, and properties over generated
//! inputs; one binary, one module per area.

mod common;
mod properties;
mod signature_and_claims;
mod structure;
mod vectors;
