use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use serde_json::Value;

use crate::mapping::cases::{merge_headers, parse_header, read_payload, read_sidecar_headers};
use crate::mapping::{Event, Mapping, Outcome};
use crate::target::{self, Kind};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The mapping file.
    #[arg(long, value_name = "FILE")]
    mapping: PathBuf,
    /// The JSON payload (`-` for standard input). Headers in a `.headers` file beside
    /// it (one `Name: value` per line) are sent too.
    #[arg(long, value_name = "FILE")]
    payload: PathBuf,
    /// A request header, as `Name: value`; repeatable; overrides the `.headers` file.
    #[arg(long = "header", value_name = "'Name: value'", value_parser = parse_header)]
    headers: Vec<(String, String)>,
    /// The target kind whose bodies to print.
    #[arg(long, default_value = "preview", value_name = "KIND")]
    target: Kind,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let (mapping, warnings) = Mapping::load(&args.mapping)?;
    for w in warnings.iter() {
        eprintln!("{w}");
    }
    let (payload, mut headers) = if args.payload.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("reading the payload from standard input")?;
        let payload: Value = serde_json::from_slice(&bytes)
            .context("the payload on standard input is not valid JSON")?;
        (payload, Vec::new())
    } else {
        let payload = read_payload(&args.payload).map_err(|e| anyhow!(e))?;
        (
            payload,
            read_sidecar_headers(&args.payload).map_err(|e| anyhow!(e))?,
        )
    };
    merge_headers(&mut headers, &args.headers);
    let message = match mapping.apply(&Event::new(&payload, &headers))? {
        Outcome::Message(message) => message,
        Outcome::Dropped { rule } => {
            eprintln!("rule `{rule}` matched and drops this event: nothing would be sent");
            return Ok(ExitCode::SUCCESS);
        }
        Outcome::NoMatch => {
            eprintln!("no rule of {} matched this payload", args.mapping.display());
            return Ok(ExitCode::from(3));
        }
    };
    eprintln!("rule `{}` matched", message.rule);
    if let Some(request) = crate::plan::request(args.target, &message) {
        let method = request.method.as_deref().unwrap_or("POST");
        let headers: Vec<String> = request
            .headers
            .iter()
            .map(|(name, value)| format!("{name}: {value}"))
            .collect();
        let headers = if headers.is_empty() {
            "the target's headers".to_string()
        } else {
            headers.join(", ")
        };
        eprintln!("sent as {method}, with {headers}");
    }
    let bodies = target::build(args.target, &message, &target::Options::default());
    if bodies.is_empty() {
        eprintln!(
            "rule `{}` rendered an empty message: nothing would be sent",
            message.rule
        );
    }
    for body in bodies {
        println!("{body}");
    }
    Ok(ExitCode::SUCCESS)
}
