//! The ceiling for `benches/load.sh`: a bare hyper server that only parses the JSON
//! body and answers 202, the fastest any server that reads the same payload can go
//! on this machine. `cargo run --release --example ceiling -- 127.0.0.1:8090`

use std::convert::Infallible;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The same allocator as the gateway, so the ceiling is the ceiling for it too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

async fn handle(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body): (StatusCode, &'static str) = if request.method() != Method::POST {
        (StatusCode::METHOD_NOT_ALLOWED, r#"{"error":"POST only"}"#)
    } else {
        match request.into_body().collect().await {
            Ok(collected) => {
                match serde_json::from_slice::<serde_json::Value>(&collected.to_bytes()) {
                    Ok(_) => (StatusCode::ACCEPTED, r#"{"ok":true}"#),
                    Err(_) => (StatusCode::BAD_REQUEST, r#"{"error":"bad JSON"}"#),
                }
            }
            Err(_) => (StatusCode::BAD_REQUEST, r#"{"error":"unreadable body"}"#),
        }
    };
    let response = Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("a static response is valid");
    Ok(response)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8090".into());
    let listener = TcpListener::bind(&addr).await?;
    eprintln!("ceiling listening addr={}", listener.local_addr()?);
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(handle))
                .await;
        });
    }
}
