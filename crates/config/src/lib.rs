//! vpd's YAML config: the user's `~/.viewport/config.yaml` and each
//! directory's `.viewport/config.yaml`, checked and resolved into the
//! manifest a session starts with.
//!
//! - [`model`]: the file's types and their JSON Schema.
//! - [`yaml`]: YAML read into a tree that knows where each node is, within
//!   limits against hostile files.
//! - [`check`]: every problem of one file, with line and column.
//! - [`contexts`]: the contexts that apply, read for a session's first prompt.
//! - [`resolve`]: the files that speak for a directory, merged into a
//!   [`Manifest`](resolve::Manifest), conflicts named, never silently chosen.
//!
//! Files are read fresh each time they are needed: an edit counts for the
//! next session, without a daemon restart.

use std::path::Path;

pub mod check;
pub mod contexts;
pub mod model;
pub mod resolve;
pub mod yaml;

pub use check::{Diagnostic, Section};
pub use resolve::{FILE_NAME, Manifest};

/// Every problem found, one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct ConfigErrors(pub Vec<Diagnostic>);

/// The manifest for `directory` under the registered `root`.
pub fn manifest(
    data_home: &Path,
    root: Option<&Path>,
    directory: &Path,
) -> Result<Manifest, ConfigErrors> {
    resolve::resolve(data_home, root, directory).map_err(ConfigErrors)
}

/// The daemon-wide settings: the user's config only.
pub fn user_config(data_home: &Path) -> Result<model::ConfigFile, ConfigErrors> {
    check::check_file(&data_home.join(FILE_NAME))
        .map(|checked| checked.config)
        .map_err(ConfigErrors)
}
