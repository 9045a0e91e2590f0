//! roomgate-verify from the outside: offline key sets and forged tokens, the real roomgate server (tokens,
//! revocations, and the media server's link), and JWKS endpoints, revocation feeds and control feeds the tests
//! control (to count fetches, stall, oversize or poison them).

mod attacks;
mod deps;
mod offline;
mod support;

#[cfg(feature = "fetch")]
mod against_roomgate;
#[cfg(feature = "fetch")]
mod fetching;
#[cfg(feature = "fetch")]
mod headers;
#[cfg(feature = "fetch")]
mod hostile_feed;
#[cfg(feature = "fetch")]
mod link;
#[cfg(feature = "fetch")]
mod revoking;
#[cfg(feature = "fetch")]
mod roomgate;
