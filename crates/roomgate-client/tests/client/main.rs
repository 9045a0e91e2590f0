//! The client against the real roomgate server (in-process, on 127.0.0.1:0, over a temp SQLite file),
//! and, for what a healthy server never does (5xx, 429, bad bodies), against a scripted fake.
mod common;
mod errors;
mod fake;
mod pagination;
mod retry;
mod revocations;
mod rooms;
mod tokens;
