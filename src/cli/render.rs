use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, Context};

use crate::mapping::cases::{merge_headers, parse_header};
use crate::mapping::{Mapping, Outcome};
use crate::plan::{self, Destination};
use crate::store::NewDelivery;
use crate::target::{self, Kind};
use crate::verify::Verified;

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
    let event = read_event(args)?;
    let options = target::Options::default();
    let destination = Destination {
        name: args.target.name(),
        kind: args.target,
        options: &options,
    };
    let plan = plan::plan(&[Arc::new(mapping)], &[destination], &event)
        .with_context(|| format!("payload {}", args.payload.display()))?;
    let rule = match &plan.outcome {
        Outcome::Message(message) => &message.rule,
        Outcome::Dropped { rule } => {
            eprintln!("rule `{rule}` matched and drops this event: nothing would be sent");
            return Ok(ExitCode::SUCCESS);
        }
        Outcome::NoMatch => {
            eprintln!("no rule of {} matched this payload", args.mapping.display());
            return Ok(ExitCode::from(3));
        }
    };
    eprintln!("rule `{rule}` matched");
    let Some(delivery) = plan.deliveries.first() else {
        eprintln!("rule `{rule}` rendered an empty message: nothing would be sent");
        return Ok(ExitCode::SUCCESS);
    };
    describe_request(delivery);
    for body in &delivery.bodies {
        println!("{body}");
    }
    Ok(ExitCode::SUCCESS)
}

fn read_event(args: &Args) -> anyhow::Result<Verified> {
    if args.payload.as_os_str() != "-" {
        return super::local_event(&args.payload, &args.headers).map_err(|e| anyhow!(e));
    }
    let mut body = Vec::new();
    std::io::stdin()
        .read_to_end(&mut body)
        .context("reading the payload from standard input")?;
    let mut headers = Vec::new();
    merge_headers(&mut headers, &args.headers);
    Ok(Verified::local(body.into(), headers))
}

/// An `http` rule's own method and headers go to stderr, beside the bodies.
fn describe_request(delivery: &NewDelivery) {
    let Some(request) = &delivery.request else {
        return;
    };
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
