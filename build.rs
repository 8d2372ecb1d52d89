//! Tests that need PostgreSQL are compiled as ignored, with the reason, when
//! HOOKBRIDGE_TEST_PG does not name a server: `cargo test` then says so in its
//! summary instead of passing them silently. The TLS tests also need
//! HOOKBRIDGE_TEST_PG_CA: the CA of a certificate the server holds for `localhost`.

fn main() {
    println!("cargo::rerun-if-env-changed=HOOKBRIDGE_TEST_PG");
    println!("cargo::rustc-check-cfg=cfg(no_test_pg)");
    println!("cargo::rerun-if-env-changed=HOOKBRIDGE_TEST_PG_CA");
    println!("cargo::rustc-check-cfg=cfg(no_test_pg_tls)");
    let unset = |name| std::env::var_os(name).is_none_or(|v| v.is_empty());
    if unset("HOOKBRIDGE_TEST_PG") {
        println!("cargo::rustc-cfg=no_test_pg");
    }
    // TLS needs the server's test certificate too (.ci/run makes it).
    if unset("HOOKBRIDGE_TEST_PG") || unset("HOOKBRIDGE_TEST_PG_CA") {
        println!("cargo::rustc-cfg=no_test_pg_tls");
    }
}
