//! Tests that need PostgreSQL are compiled as ignored, with the reason, when
//! HOOKBRIDGE_TEST_PG does not name a server: `cargo test` then says so in its
//! summary instead of passing them silently.

fn main() {
    println!("cargo::rerun-if-env-changed=HOOKBRIDGE_TEST_PG");
    println!("cargo::rustc-check-cfg=cfg(no_test_pg)");
    if std::env::var_os("HOOKBRIDGE_TEST_PG").is_none_or(|v| v.is_empty()) {
        println!("cargo::rustc-cfg=no_test_pg");
    }
}
