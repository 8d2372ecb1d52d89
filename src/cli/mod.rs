//! The command line: thin verbs over config, mapping and target. Errors are printed
//! once, whole chain, at the edge.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod check;
mod connect;
mod deliveries;
mod render;
mod scaffold;
mod schema;
mod serve;
mod test;

#[derive(Debug, Parser)]
#[command(
    name = "hookbridge",
    version,
    about = "Webhook adapter gateway: JSON webhooks in, chat messages out"
)]
pub struct Cli {
    /// The config file; relative paths inside it start from its folder.
    #[arg(
        long,
        global = true,
        default_value = "config.yaml",
        value_name = "PATH"
    )]
    config: PathBuf,
    /// Without a command, the gateway serves.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway: receive webhooks, store them, deliver them.
    Serve(serve::Args),
    /// Validate the config and every mapping it names (or only the MAPPING files given).
    Check(check::Args),
    /// Print the HTTP bodies a target kind would receive for a payload, one per line.
    Render(render::Args),
    /// Run the `tests:` of mapping files (all the config names, or the MAPPING files given).
    Test(test::Args),
    /// Print a starter mapping for a source, read off one of its payloads.
    Scaffold(scaffold::Args),
    /// Print the JSON Schema of config.yaml or of mapping files, for editors.
    Schema(schema::Args),
    /// Inspect and replay the outbox.
    #[command(subcommand)]
    Deliveries(deliveries::Command),
    /// Register this gateway's webhook in Jira, GitHub or GitLab, with a fresh secret
    /// for both sides, and see a test delivery arrive (or list or remove the hook).
    Connect(Box<connect::Args>),
}

/// Exit codes: 0 success, 1 failure, 2 usage error (clap), 3 render matched no rule.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let serve_by_default = Command::Serve(serve::Args::default());
    let result = match cli.command.as_ref().unwrap_or(&serve_by_default) {
        Command::Serve(args) => serve::run(&cli.config, args),
        Command::Deliveries(command) => deliveries::run(&cli.config, command),
        Command::Check(args) => check::run(&cli.config, args),
        Command::Render(args) => render::run(args),
        Command::Test(args) => test::run(&cli.config, args),
        Command::Scaffold(args) => scaffold::run(args),
        Command::Schema(args) => schema::run(args),
        Command::Connect(args) => connect::run(&cli.config, args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// A payload file and its headers (the `.headers` file beside it, then `overrides`)
/// as an event the local user vouches for: their own files need no signature.
fn local_event(
    payload: &std::path::Path,
    overrides: &[(String, String)],
) -> Result<crate::verify::Verified, String> {
    use crate::mapping::cases::{merge_headers, read_sidecar_headers};
    let body = std::fs::read(payload)
        .map_err(|e| format!("cannot read payload {}: {e}", payload.display()))?;
    let mut headers = read_sidecar_headers(payload)?;
    merge_headers(&mut headers, overrides);
    Ok(crate::verify::Verified::local(body.into(), headers))
}
