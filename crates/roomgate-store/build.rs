//! Tests of the PostgreSQL backend are compiled as ignored unless `ROOMGATE_TEST_POSTGRES_URL` is set, so a
//! plain `cargo test` reports them as skipped instead of failing or silently passing.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(postgres_tests)");
    println!("cargo::rerun-if-env-changed=ROOMGATE_TEST_POSTGRES_URL");
    // sqlx::migrate! embeds the migrations: a new one must rebuild the crate.
    println!("cargo::rerun-if-changed=migrations");
    if std::env::var_os("ROOMGATE_TEST_POSTGRES_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=postgres_tests");
    }
}
