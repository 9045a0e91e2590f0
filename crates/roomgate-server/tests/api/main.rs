//! The server driven over real HTTP: one binary, one module per area, each test on its own server.

mod attacks;
mod auth;
mod connections;
mod counts;
mod errors;
mod forbidden;
mod harness;
mod health;
mod inputs;
mod introspect;
mod isolation;
mod jwks;
mod jwt;
mod limits;
mod listing;
mod live;
mod observability;
mod openapi;
mod participants;
mod persistence;
mod quota;
mod refresh;
mod replicas;
mod revocations;
mod rooms;
mod tokens;
