use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use crate::config::Config;
use crate::diagnostic::ConfigError;
use crate::mapping::cases::Case;
use crate::mapping::Mapping;
use crate::plan;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Mapping files to test; without any, every mapping the config names.
    #[arg(value_name = "MAPPING")]
    mappings: Vec<PathBuf>,
}

pub fn run(config: &Path, args: &Args) -> anyhow::Result<ExitCode> {
    let files: Vec<PathBuf> = if args.mappings.is_empty() {
        let (config, _) = Config::load(config)?;
        let named: BTreeSet<PathBuf> = config
            .routes
            .values()
            .flat_map(|r| &r.mappings)
            .map(|m| m.file.clone())
            .collect();
        named.into_iter().collect()
    } else {
        args.mappings.clone()
    };
    let (mut passed, mut failed) = (0usize, 0usize);
    for file in &files {
        let mapping = match Mapping::load(file) {
            Ok((mapping, _)) => Arc::new(mapping),
            Err(ConfigError(errors)) => {
                for e in errors.iter() {
                    println!("{e}");
                }
                println!("FAIL {}: does not compile", file.display());
                failed += 1;
                continue;
            }
        };
        if mapping.cases.is_empty() {
            println!("note {}: has no tests", file.display());
        }
        for case in &mapping.cases {
            match run_case(case, &mapping) {
                Ok(()) => {
                    passed += 1;
                    println!("ok   {} › {}", file.display(), case.name);
                }
                Err(problems) => {
                    failed += 1;
                    println!("FAIL {} › {}", file.display(), case.name);
                    for p in problems {
                        println!("     {}", p.replace('\n', "\n     "));
                    }
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A case goes through the same plan as a live event; the error lists every
/// expectation that failed.
fn run_case(case: &Case, mapping: &Arc<Mapping>) -> Result<(), Vec<String>> {
    let event = super::local_event(&case.payload, &case.headers).map_err(|e| vec![e])?;
    let plan = plan::plan(std::slice::from_ref(mapping), &[], &event)
        .map_err(|e| vec![format!("payload {}: {e}", case.payload.display())])?;
    let problems = case.expect.check(&plan.outcome);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}
