//! The built `roomgate` binary from the outside: its commands against a live `roomgate serve` child process,
//! and what `serve` logs, exposes, survives and refuses; one binary, one module per area.

mod cli;
mod common;
mod durability;
mod exposure;
mod keys;
mod logs;
mod openapi;
mod outage;
mod revoking;
mod startup;
mod webhooks;
