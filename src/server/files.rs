//! `serve --watch`: reloads when config.yaml or a mapping it names changes on disk,
//! once the writes have settled. The folders are watched, not the files, because
//! editors save by writing a new file and renaming it over the old one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::Gateway;
use crate::config::Config;

/// Writes closer together than this are one change.
const SETTLE: Duration = Duration::from_millis(300);

pub fn spawn(
    gateway: Arc<Gateway>,
    mut stopping: watch::Receiver<bool>,
) -> Result<JoinHandle<()>, notify::Error> {
    let (changed, mut changes) = mpsc::unbounded_channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            let _ = changed.send(event.paths);
        }
    })?;
    let mut folders = BTreeSet::new();
    let mut files = watched_files(&gateway.config());
    watch_folders(&mut watcher, &files, &mut folders);
    Ok(tokio::spawn(async move {
        loop {
            let paths = tokio::select! {
                paths = changes.recv() => paths,
                _ = stopping.changed() => return,
            };
            let Some(paths) = paths else { return };
            if !paths.iter().any(|p| files.contains(&absolute(p))) {
                continue;
            }
            // Let the rest of this save arrive, then reload once.
            tokio::time::sleep(SETTLE).await;
            while changes.try_recv().is_ok() {}
            tracing::info!("a watched file changed: reloading the config");
            if super::reload::reload(&gateway).await.is_ok() {
                files = watched_files(&gateway.config());
                watch_folders(&mut watcher, &files, &mut folders);
            }
        }
    }))
}

/// config.yaml and every mapping file it names, as absolute paths.
fn watched_files(config: &Config) -> BTreeSet<PathBuf> {
    let mappings = config
        .routes
        .values()
        .flat_map(|route| route.mappings.iter().map(|m| m.file.clone()));
    std::iter::once(config.file.clone())
        .chain(mappings)
        .map(|file| absolute(&file))
        .collect()
}

fn watch_folders(
    watcher: &mut impl Watcher,
    files: &BTreeSet<PathBuf>,
    folders: &mut BTreeSet<PathBuf>,
) {
    for folder in files.iter().filter_map(|f| f.parent()) {
        if folders.insert(folder.to_path_buf()) {
            if let Err(err) = watcher.watch(folder, RecursiveMode::NonRecursive) {
                tracing::warn!(folder = %folder.display(), %err, "cannot watch this folder; edits in it need SIGHUP");
            }
        }
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
