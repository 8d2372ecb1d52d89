use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Context};

use crate::mapping::cases::parse_header;
use crate::mapping::scaffold::{scaffold, Sample};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A real payload from the source. Headers in a `.headers` file beside it (one
    /// `Name: value` per line) are read too: an event header keys the rule.
    #[arg(long, value_name = "FILE")]
    payload: PathBuf,
    /// A request header, as `Name: value`; repeatable; overrides the `.headers` file.
    #[arg(long = "header", value_name = "'Name: value'", value_parser = parse_header)]
    headers: Vec<(String, String)>,
    /// The source's name in the mapping (default: the payload file's first word).
    #[arg(long, value_name = "NAME")]
    source: Option<String>,
    /// Write the mapping here (its test then names the payload relative to it);
    /// without it, print it with the payload's absolute path.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let event = super::local_event(&args.payload, &args.headers).map_err(|e| anyhow!(e))?;
    let payload = crate::mapping::parse_payload(event.body())
        .with_context(|| format!("payload {} is not JSON", args.payload.display()))?;
    let source = args
        .source
        .clone()
        .unwrap_or_else(|| default_source(&args.payload));
    let absolute = std::path::absolute(&args.payload)
        .with_context(|| format!("cannot resolve {}", args.payload.display()))?;
    let payload_path = match &args.out {
        Some(out) => relative_to(&absolute, &std::path::absolute(out)?),
        None => absolute,
    };
    let text = scaffold(&Sample {
        payload: &payload,
        headers: event.headers(),
        source: &source,
        payload_path: &payload_path.display().to_string(),
    });
    match &args.out {
        Some(out) => {
            std::fs::write(out, text).with_context(|| format!("cannot write {}", out.display()))?;
            eprintln!(
                "wrote {}; try it: hookbridge test {}",
                out.display(),
                out.display()
            );
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `sentry.issue.created.json` -> `sentry`.
fn default_source(payload: &Path) -> String {
    let stem = payload
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("source");
    let word: String = stem
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    if word.is_empty() {
        "source".into()
    } else {
        word
    }
}

/// `file` as seen from the folder of `from` (both absolute).
fn relative_to(file: &Path, from: &Path) -> PathBuf {
    let base: Vec<Component> = from
        .parent()
        .map(|p| p.components().collect())
        .unwrap_or_default();
    let target: Vec<Component> = file.components().collect();
    let common = base.iter().zip(&target).take_while(|(a, b)| a == b).count();
    let mut path: PathBuf = base[common..]
        .iter()
        .map(|_| Component::ParentDir)
        .collect();
    path.extend(&target[common..]);
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_relative_to_the_mapping_and_sources_from_file_names() {
        let rel = relative_to(
            Path::new("/w/fixtures/x/p.json"),
            Path::new("/w/mappings/x.yaml"),
        );
        assert_eq!(rel, Path::new("../fixtures/x/p.json"));
        assert_eq!(
            relative_to(Path::new("/w/p.json"), Path::new("/w/m.yaml")),
            Path::new("p.json")
        );
        assert_eq!(
            default_source(Path::new("a/sentry.issue.created.json")),
            "sentry"
        );
        assert_eq!(
            default_source(Path::new("bitbucket-server.pr.json")),
            "bitbucket-server"
        );
    }
}
