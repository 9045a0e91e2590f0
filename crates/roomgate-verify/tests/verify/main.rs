//! roomgate-verify from the outside: offline key sets, the real roomgate server, and JWKS endpoints the
//! tests control (to count fetches, stall, oversize or poison the key set).

mod deps;
mod offline;
mod support;

#[cfg(feature = "fetch")]
mod against_roomgate;
#[cfg(feature = "fetch")]
mod fetching;
#[cfg(feature = "fetch")]
mod headers;
