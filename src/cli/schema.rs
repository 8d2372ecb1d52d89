use std::process::ExitCode;

/// Which file's schema.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Which {
    /// config.yaml
    Config,
    /// A mapping file.
    Mapping,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    which: Which,
}

/// The schema as committed under `schemas/` (a test keeps the two equal).
pub fn text(which: Which) -> String {
    let mut schema = match which {
        Which::Config => crate::config::schema(),
        Which::Mapping => crate::mapping::schema(),
    };
    unwrap_descriptions(&mut schema);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    print!("{}", text(args.which));
    Ok(ExitCode::SUCCESS)
}

/// Doc comments arrive wrapped at 88 columns; an editor's hover wraps by itself.
fn unwrap_descriptions(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                match child {
                    serde_json::Value::String(text) if key == "description" => {
                        *text = text.replace('\n', " ");
                    }
                    _ => unwrap_descriptions(child),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(unwrap_descriptions),
        _ => {}
    }
}
