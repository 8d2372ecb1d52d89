use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use tracing_subscriber::EnvFilter;

use crate::config::Config;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Readable lines (the default).
    #[default]
    Human,
    /// One JSON object per line, for a log pipeline.
    Json,
}

#[derive(Debug, Default, clap::Args)]
pub struct Args {
    /// Log format; HOOKBRIDGE_LOG_FORMAT=json does the same. HOOKBRIDGE_LOG sets the
    /// level filter (default: info).
    #[arg(long, value_enum)]
    log_format: Option<LogFormat>,
    /// Reload by itself when config.yaml or a mapping it names changes (as SIGHUP).
    #[arg(long)]
    watch: bool,
}

/// How long the runtime waits for blocking tasks once the gateway has stopped.
const STRAGGLERS: Duration = Duration::from_millis(500);

pub fn run(config: &Path, args: &Args) -> anyhow::Result<ExitCode> {
    let format = args.log_format.unwrap_or_else(|| {
        match std::env::var("HOOKBRIDGE_LOG_FORMAT").as_deref() {
            Ok("json") => LogFormat::Json,
            _ => LogFormat::Human,
        }
    });
    let _flush_on_exit = init_logging(format);
    let (config, warnings) = Config::load(config)?;
    for warning in warnings.iter() {
        tracing::warn!("{warning}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let served = runtime.block_on(crate::server::serve(config, args.watch));
    // Work cut off at the end of shutdown_grace may leave a blocking task (a store
    // call, an event being planned) running: the process exits without it.
    runtime.shutdown_timeout(STRAGGLERS);
    served?;
    Ok(ExitCode::SUCCESS)
}

/// Lines are written by a thread of their own, in batches: a write per line would
/// cost the request path a system call per event. None is dropped (`lossy(false)`):
/// under a flood the request path waits for the log instead.
fn init_logging(format: LogFormat) -> tracing_appender::non_blocking::WorkerGuard {
    let filter =
        EnvFilter::try_from_env("HOOKBRIDGE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::stderr());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(writer);
    match format {
        LogFormat::Human => logs.init(),
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
    guard
}
