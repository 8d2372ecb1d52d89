use std::path::Path;
use std::process::ExitCode;

use crate::clock::Clock;
use crate::config::Config;
use crate::store::{self, Delivery, Filter, Replay, Status};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List deliveries, newest first.
    List(ListArgs),
    /// Put deliveries back at the tail of their target's queue, with a fresh retry
    /// budget. A running gateway picks them up within a second.
    Replay(ReplayArgs),
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[arg(long, value_parser = parse_status)]
    status: Option<Status>,
    /// Only this target's deliveries.
    #[arg(long)]
    target: Option<String>,
    /// At most this many (0: all).
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// One JSON object per line, bodies included.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct ReplayArgs {
    /// Delivery ids, as `deliveries list` shows them.
    #[arg(value_name = "ID")]
    ids: Vec<i64>,
    /// Every dead delivery, in their original order.
    #[arg(long)]
    all_dead: bool,
}

fn parse_status(text: &str) -> Result<Status, String> {
    text.parse()
}

pub fn run(config: &Path, command: &Command) -> anyhow::Result<ExitCode> {
    let (config, _) = Config::load(config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let store = store::open(&config.store, Clock::system(), store::Access::Admin).await?;
        match command {
            Command::List(args) => {
                let filter = Filter {
                    status: args.status,
                    targets: args.target.iter().cloned().collect(),
                    limit: args.limit,
                    before: None,
                };
                let deliveries = store.list(&filter).await?;
                print_list(&deliveries, args.json)?;
            }
            Command::Replay(args) => {
                let which = if args.all_dead {
                    Replay::AllDead
                } else {
                    Replay::Ids(args.ids.clone())
                };
                let ids = store.replay(which).await?;
                let list: Vec<String> = ids.iter().map(i64::to_string).collect();
                println!("replayed {} deliveries: {}", ids.len(), list.join(" "));
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn print_list(deliveries: &[Delivery], json: bool) -> anyhow::Result<()> {
    if json {
        for d in deliveries {
            println!("{}", serde_json::to_string(d)?);
        }
        return Ok(());
    }
    println!(
        "{:>6}  {:<9}  {:<16}  {:<12}  {:<24}  {:>5}  {:<20}  {:<14}  LAST ERROR",
        "ID", "STATUS", "TARGET", "ROUTE", "RULE", "TRIES", "CREATED", "CAUSE"
    );
    for d in deliveries {
        println!(
            "{:>6}  {:<9}  {:<16}  {:<12}  {:<24}  {:>5}  {:<20}  {:<14}  {}",
            d.id,
            d.status,
            d.target,
            d.route,
            d.rule,
            d.attempts,
            d.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            d.last_cause.map(|c| c.code()).unwrap_or_default(),
            d.last_error.as_deref().unwrap_or("")
        );
    }
    if deliveries.is_empty() {
        println!("(no deliveries)");
    }
    Ok(())
}
