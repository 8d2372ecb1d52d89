//! Fresh PostgreSQL databases on the server HOOKBRIDGE_TEST_PG names, for tests of
//! the shared store.

use std::str::FromStr;

/// Why a test is ignored where no PostgreSQL server is named (see build.rs).
pub const NEEDS_PG: &str =
    "needs PostgreSQL: set HOOKBRIDGE_TEST_PG=postgres://postgres@127.0.0.1:5432/test (.ci/run does)";

/// A fresh database on the HOOKBRIDGE_TEST_PG server: its URL, and a guard that drops
/// it. Only tests that are ignored without the variable call it.
pub async fn fresh_database() -> (String, DropDatabase) {
    let server = std::env::var("HOOKBRIDGE_TEST_PG").expect(NEEDS_PG);
    let name = format!("hookbridge_it_{}", uuid::Uuid::now_v7().simple());
    admin(&server, &format!("CREATE DATABASE {name}")).await;
    let url = url_at(&server, &server_addr(&server), &name);
    (url, DropDatabase { server, name })
}

/// The `host:port` a PostgreSQL URL points at (an IP address, as on loopback).
pub fn server_addr(url: &str) -> String {
    let config = tokio_postgres::Config::from_str(url).expect("a PostgreSQL URL");
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        _ => "127.0.0.1".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}")
}

/// `url`'s user, at `addr`, in database `name`.
pub fn url_at(url: &str, addr: &str, name: &str) -> String {
    let config = tokio_postgres::Config::from_str(url).expect("a PostgreSQL URL");
    let user = config.get_user().unwrap_or("postgres");
    format!("postgres://{user}@{addr}/{name}")
}

pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("HOOKBRIDGE_TEST_PG is reachable");
    tokio::spawn(connection);
    client
}

pub async fn admin(server: &str, sql: &str) {
    connect(server).await.execute(sql, &[]).await.expect(sql);
}

pub struct DropDatabase {
    server: String,
    name: String,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let server = self.server.clone();
        // Drop runs inside the test's runtime; a thread of its own may block.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(admin(&server, &sql));
        })
        .join();
    }
}

/// A fresh database for one test gateway, created from synchronous test code; it is
/// not dropped (the gateway outlives the call), so `.ci/run` drops leftovers.
pub fn fresh_database_blocking() -> String {
    std::thread::spawn(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let (url, database) = fresh_database().await;
                std::mem::forget(database);
                url
            })
    })
    .join()
    .unwrap()
}
