use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::config::Config;
use crate::diagnostic::{ConfigError, Diagnostics};
use crate::mapping::Mapping;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Mapping files to check on their own, without a config.
    #[arg(value_name = "MAPPING")]
    mappings: Vec<PathBuf>,
}

pub fn run(config: &Path, args: &Args) -> anyhow::Result<ExitCode> {
    let mut diags = Diagnostics::default();
    let summary = if args.mappings.is_empty() {
        match Config::load(config) {
            Ok((config, warnings)) => {
                diags.extend(warnings);
                let rules: usize = config
                    .routes
                    .values()
                    .flat_map(|r| &r.mappings)
                    .map(|m| m.rule_names().count())
                    .sum();
                Some(format!(
                    "{}: ok ({} routes, {} targets, {} rules)",
                    config.file.display(),
                    config.routes.len(),
                    config.targets.len(),
                    rules
                ))
            }
            Err(ConfigError(errors)) => {
                diags.extend(errors);
                None
            }
        }
    } else {
        let mut all_ok = true;
        for file in &args.mappings {
            match Mapping::load(file) {
                Ok((_, warnings)) => diags.extend(warnings),
                Err(ConfigError(errors)) => {
                    all_ok = false;
                    diags.extend(errors);
                }
            }
        }
        all_ok.then(|| format!("{} mapping file(s): ok", args.mappings.len()))
    };
    for d in diags.iter() {
        eprintln!("{d}");
    }
    match summary {
        Some(line) if !diags.has_errors() => {
            println!("{line}");
            Ok(ExitCode::SUCCESS)
        }
        _ => {
            eprintln!("{} error(s)", diags.errors().count());
            Ok(ExitCode::FAILURE)
        }
    }
}
