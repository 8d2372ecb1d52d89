//! The real `hookbridge serve` process, on loopback, with a config written for the
//! test, and a client for its HTTP API.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::path;

pub const ADMIN_TOKEN: &str = "test-token";

/// A config around `targets:` and `routes:` YAML: loopback on a free port, the admin
/// API on, and the test's own store: a SQLite file beside the config or, with
/// HOOKBRIDGE_TEST_STORE=postgres, a fresh database on the HOOKBRIDGE_TEST_PG server,
/// so one suite tests both stores.
pub fn config(targets: &str, routes: &str) -> String {
    let store = match std::env::var("HOOKBRIDGE_TEST_STORE").as_deref() {
        Ok("postgres") => crate::pg::fresh_database_blocking(),
        _ => "sqlite://outbox.db".to_string(),
    };
    config_with_store(&store, targets, routes)
}

pub fn uses_postgres() -> bool {
    std::env::var("HOOKBRIDGE_TEST_STORE").as_deref() == Ok("postgres")
}

pub fn config_with_store(store: &str, targets: &str, routes: &str) -> String {
    format!(
        "listen: 127.0.0.1:0\nstore: {store}\nadmin_token: {ADMIN_TOKEN}\n\
         targets:\n{targets}\nroutes:\n{routes}\n"
    )
}

/// The repo's file at `relative`, as a config inside a temp dir must name it.
pub fn repo_file(relative: &str) -> String {
    path(relative).display().to_string()
}

pub struct Gateway {
    pub addr: SocketAddr,
    /// The id this process holds target leases under.
    pub replica: String,
    child: Child,
    log: Arc<Mutex<String>>,
    client: reqwest::Client,
}

impl Gateway {
    /// Writes `config` to `dir/config.yaml` and serves it until "listening".
    pub fn start(dir: &Path, config: &str) -> Gateway {
        let file = dir.join("config.yaml");
        std::fs::write(&file, config).expect("config is writable");
        Self::start_with(&file, &[])
    }

    pub fn start_with(file: &Path, env: &[(&str, &str)]) -> Gateway {
        Self::launch(file, env, &[])
    }

    /// As `start`, with `serve --watch`.
    pub fn start_watching(dir: &Path, config: &str) -> Gateway {
        let file = dir.join("config.yaml");
        std::fs::write(&file, config).expect("config is writable");
        Self::launch(&file, &[], &["--watch"])
    }

    fn launch(file: &Path, env: &[(&str, &str)], args: &[&str]) -> Gateway {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hookbridge"));
        command
            .args(["serve", "--log-format", "json"])
            .args(args)
            .arg("--config")
            .arg(file)
            .env("HOOKBRIDGE_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for name in crate::support::CONFIG_ENV {
            command.env_remove(name);
        }
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("hookbridge starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(String::new()));
        let (found, addr) = mpsc::channel();
        let keep = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(entry) = serde_json::from_str::<Value>(&line) {
                    if entry["message"] == "listening" {
                        let field = |name: &str| entry[name].as_str().unwrap_or("").to_string();
                        let _ = found.send((field("addr"), field("replica")));
                    }
                }
                let mut log = keep.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let (addr, replica) = match addr.recv_timeout(Duration::from_secs(20)) {
            Ok((addr, replica)) => (addr.parse().expect("listening addr"), replica),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the gateway did not start:\n{}",
                    log.lock().unwrap().as_str()
                );
            }
        };
        Gateway {
            addr,
            replica,
            child,
            log,
            client: reqwest::Client::new(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Whether `needle` reaches the log within `within`: lines arrive through a reader
    /// thread, a moment after the request that caused them was answered.
    pub async fn logs(&self, needle: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while !self.log().contains(needle) {
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    /// POSTs a JSON body to /hooks/{route}; the status and the parsed answer.
    pub async fn post(
        &self,
        route: &str,
        body: impl Into<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut request = self
            .client
            .post(self.url(&format!("/hooks/{route}")))
            .header("Content-Type", "application/json")
            .body(body.into());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        answer(request).await
    }

    /// An admin API call with the Bearer token.
    pub async fn api(&self, method: reqwest::Method, path: &str) -> (u16, Value) {
        let request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(ADMIN_TOKEN);
        answer(request).await
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("GET answered");
        (
            response.status().as_u16(),
            response.text().await.unwrap_or_default(),
        )
    }

    /// The outbox as the admin API lists it, oldest first.
    /// Every delivery, oldest first, read a page of 1000 at a time.
    pub async fn deliveries(&self) -> Vec<Value> {
        let mut list: Vec<Value> = Vec::new();
        loop {
            let before = list
                .last()
                .and_then(|d| d["id"].as_i64())
                .map_or(String::new(), |id| format!("&before={id}"));
            let path = format!("/api/deliveries?limit=1000{before}");
            let (status, body) = self.api(reqwest::Method::GET, &path).await;
            assert_eq!(status, 200, "{body}");
            let page = body["deliveries"].as_array().cloned().unwrap_or_default();
            let done = page.len() < 1000;
            list.extend(page);
            if done {
                break;
            }
        }
        list.reverse();
        list
    }

    /// Polls the outbox until `holds` is true of it; panics with it after `within`.
    pub async fn wait_until(
        &self,
        within: Duration,
        holds: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let deadline = Instant::now() + within;
        loop {
            let list = self.deliveries().await;
            if holds(&list) {
                return list;
            }
            if Instant::now() > deadline {
                panic!(
                    "the outbox never reached the expected state: {list:#?}\nlog:\n{}",
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL delivered");
        self.child.wait().expect("killed process reaped");
    }

    /// Sends the process a signal by name: STOP pauses it, CONT wakes it.
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status();
        assert!(sent.is_ok_and(|s| s.success()), "SIG{name} sent");
    }

    pub fn terminate(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "SIGTERM sent");
        self.child.wait().expect("terminated process reaped")
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn answer(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("the gateway answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// A fresh folder for one test's config and store.
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

pub fn status_of(delivery: &Value) -> &str {
    delivery["status"].as_str().unwrap_or("")
}

pub fn all_with_status(list: &[Value], count: usize, status: &str) -> bool {
    list.len() == count && list.iter().all(|d| status_of(d) == status)
}
