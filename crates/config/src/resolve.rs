//! Resolution: every config file that speaks for a working directory,
//! merged into one manifest, deterministically.
//!
//! Order: the user's `config.yaml` in the data home; then each
//! `.viewport/config.yaml` from the registered directory's root down to the
//! working directory; then, when the working directory is not inside a git
//! repository but has repositories below it (a meta-monorepo, a folder of
//! worktrees), each `.viewport/config.yaml` below it down to those
//! repositories (at most [`REPO_SEARCH_DEPTH`] levels), in path order.
//!
//! Named entries (contexts, workflows, plans, agent profiles, templates)
//! from all files are merged: a name defined identically twice is one
//! entry; defined differently, it is a conflict listing every definition,
//! and no definition is chosen. `jobs` settings are not named: the last file
//! in the order that sets one wins.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globset::Glob;
use serde::Serialize;

use crate::check::{CheckedFile, Diagnostic, Section, check_file};
use crate::model::{AgentProfile, Context, Plan, Template, Workflow};

/// The file name inside a data home, and inside a directory's `.viewport/`.
pub const FILE_NAME: &str = "config.yaml";
/// How deep below a working directory repositories are looked for.
pub const REPO_SEARCH_DEPTH: usize = 3;

/// Where a definition is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Source {
    pub file: PathBuf,
    pub line: usize,
}

/// A definition and where it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Defined<T> {
    pub definition: T,
    pub source: Source,
}

/// A context and whether it applies to the working directory.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedContext {
    pub definition: Context,
    pub source: Source,
    /// The directory its paths and `appliesTo` globs are relative to.
    pub base: PathBuf,
    pub applies: bool,
}

/// A name defined differently in two or more places.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conflict {
    pub section: Section,
    pub name: String,
    pub definitions: Vec<Defined<serde_json::Value>>,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let places: Vec<String> = self
            .definitions
            .iter()
            .map(|d| format!("{}:{}", d.source.file.display(), d.source.line))
            .collect();
        write!(
            f,
            "{} `{}` is defined differently in {}; make them the same or rename one",
            self.section.noun(),
            self.name,
            places.join(" and ")
        )
    }
}

/// What a session sees, and where each part came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// The working directory it was resolved for.
    pub directory: PathBuf,
    /// The config files read, in order (missing ones are not listed).
    pub files: Vec<PathBuf>,
    pub contexts: BTreeMap<String, ResolvedContext>,
    pub workflows: BTreeMap<String, Defined<Workflow>>,
    pub plans: BTreeMap<String, Defined<Plan>>,
    pub agent_profiles: BTreeMap<String, Defined<AgentProfile>>,
    pub templates: BTreeMap<String, Defined<Template>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jobs_max_parallel: Option<u16>,
    pub conflicts: Vec<Conflict>,
}

impl Manifest {
    /// The conflict over a name in a section, if there is one.
    pub fn conflict(&self, section: Section, name: &str) -> Option<&Conflict> {
        self.conflicts
            .iter()
            .find(|c| c.section == section && c.name == name)
    }
}

/// The config files for `directory`, in resolution order: the user's, then
/// from `root` (the registered directory) down, then below for repositories.
pub fn config_files(data_home: &Path, root: Option<&Path>, directory: &Path) -> Vec<PathBuf> {
    let mut files = vec![data_home.join(FILE_NAME)];
    let root = root
        .filter(|r| directory.starts_with(r))
        .unwrap_or(directory);
    let mut chain = vec![directory.to_owned()];
    let mut dir = directory;
    while dir != root {
        match dir.parent() {
            Some(parent) => {
                chain.push(parent.to_owned());
                dir = parent;
            }
            None => break,
        }
    }
    files.extend(chain.iter().rev().map(|d| repo_file(d)));
    if !inside_repository(directory, root) {
        files.extend(configs_below(directory));
    }
    files
}

fn repo_file(dir: &Path) -> PathBuf {
    dir.join(".viewport").join(FILE_NAME)
}

fn inside_repository(directory: &Path, root: &Path) -> bool {
    directory
        .ancestors()
        .take_while(|d| d.starts_with(root) || *d == root)
        .any(|d| d.join(".git").exists())
}

/// `.viewport/config.yaml` files below `directory` on the way to each git
/// repository under it, in path order.
fn configs_below(directory: &Path) -> Vec<PathBuf> {
    let mut repos = Vec::new();
    find_repositories(directory, REPO_SEARCH_DEPTH, &mut repos);
    let mut files: Vec<PathBuf> = Vec::new();
    for repo in repos {
        let mut between: Vec<&Path> = repo.ancestors().take_while(|d| *d != directory).collect();
        between.reverse();
        for dir in between {
            let file = repo_file(dir);
            if file.exists() && !files.contains(&file) {
                files.push(file);
            }
        }
    }
    files
}

fn find_repositories(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    if depth == 0 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut children: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !name.starts_with('.') && name != "node_modules" && name != "target"
        })
        .collect();
    children.sort();
    for child in children {
        if child.join(".git").exists() {
            found.push(child);
        } else {
            find_repositories(&child, depth - 1, found);
        }
    }
}

/// Resolve the manifest for `directory`; problems in any file are returned
/// all together.
pub fn resolve(
    data_home: &Path,
    root: Option<&Path>,
    directory: &Path,
) -> Result<Manifest, Vec<Diagnostic>> {
    let mut checked = Vec::new();
    let mut problems = Vec::new();
    for file in config_files(data_home, root, directory) {
        if !file.exists() {
            continue;
        }
        match check_file(&file) {
            Ok(ok) => checked.push(ok),
            Err(mut found) => problems.append(&mut found),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(merge(data_home, directory, checked))
}

/// Merge checked files, in order, into a manifest.
pub fn merge(data_home: &Path, directory: &Path, files: Vec<CheckedFile>) -> Manifest {
    let mut merger = Merger::default();
    let mut manifest = Manifest {
        directory: directory.to_owned(),
        ..Manifest::default()
    };
    for file in &files {
        manifest.files.push(file.file.clone());
        let place = |section: Section, name: &str| Source {
            file: file.file.clone(),
            line: file
                .places
                .get(&(section, name.to_owned()))
                .map_or(0, |at| at.line),
        };
        let config = &file.config;
        merger.add_all(Section::Contexts, &config.contexts, &place);
        merger.add_all(Section::Workflows, &config.workflows, &place);
        merger.add_all(Section::Plans, &config.plans, &place);
        merger.add_all(Section::AgentProfiles, &config.agent_profiles, &place);
        merger.add_all(Section::Templates, &config.templates, &place);
        if let Some(max) = config.jobs.as_ref().and_then(|j| j.max_parallel) {
            manifest.jobs_max_parallel = Some(max);
        }
    }
    for ((section, name), definitions) in merger.entries {
        if definitions.len() > 1 {
            manifest.conflicts.push(Conflict {
                section,
                name,
                definitions,
            });
            continue;
        }
        let Some(only) = definitions.into_iter().next() else {
            continue;
        };
        let source = only.source;
        let definition = only.definition;
        match section {
            Section::Contexts => {
                if let Ok(context) = serde_json::from_value::<Context>(definition) {
                    let base = base_of(data_home, &source.file);
                    let applies = applies(&context, &base, directory);
                    manifest.contexts.insert(
                        name,
                        ResolvedContext {
                            definition: context,
                            source,
                            base,
                            applies,
                        },
                    );
                }
            }
            Section::Workflows => insert(&mut manifest.workflows, name, definition, source),
            Section::Plans => insert(&mut manifest.plans, name, definition, source),
            Section::AgentProfiles => {
                insert(&mut manifest.agent_profiles, name, definition, source)
            }
            Section::Templates => insert(&mut manifest.templates, name, definition, source),
        }
    }
    manifest
}

fn insert<T: serde::de::DeserializeOwned>(
    map: &mut BTreeMap<String, Defined<T>>,
    name: String,
    definition: serde_json::Value,
    source: Source,
) {
    if let Ok(definition) = serde_json::from_value(definition) {
        map.insert(name, Defined { definition, source });
    }
}

/// The definitions of each name, distinct ones only, in resolution order.
#[derive(Default)]
struct Merger {
    entries: BTreeMap<(Section, String), Vec<Defined<serde_json::Value>>>,
}

impl Merger {
    fn add_all<T: Serialize>(
        &mut self,
        section: Section,
        entries: &BTreeMap<String, T>,
        place: &dyn Fn(Section, &str) -> Source,
    ) {
        for (name, value) in entries {
            self.add(section, name, value, place(section, name));
        }
    }

    fn add<T: Serialize>(&mut self, section: Section, name: &str, value: &T, source: Source) {
        let definition = serde_json::to_value(value).unwrap_or_default();
        let definitions = self.entries.entry((section, name.to_owned())).or_default();
        if !definitions.iter().any(|d| d.definition == definition) {
            definitions.push(Defined { definition, source });
        }
    }
}

/// The directory a file's relative paths are relative to: the one holding
/// its `.viewport/`, or the data home for the user's file.
fn base_of(data_home: &Path, file: &Path) -> PathBuf {
    let holder = file.parent().unwrap_or(data_home);
    if holder.file_name().is_some_and(|n| n == ".viewport") {
        holder.parent().unwrap_or(holder).to_owned()
    } else {
        holder.to_owned()
    }
}

/// Whether a context applies to `directory`: no `appliesTo` means anywhere
/// under its base; `web/**` applies in `web` and anywhere below it.
fn applies(context: &Context, base: &Path, directory: &Path) -> bool {
    if context.applies_to.is_empty() {
        return directory.starts_with(base) || base.starts_with(directory);
    }
    let Ok(relative) = directory.strip_prefix(base) else {
        return false;
    };
    let inside = relative.join("_");
    context.applies_to.iter().any(|pattern| {
        Glob::new(pattern)
            .map(|g| g.compile_matcher())
            .is_ok_and(|m| m.is_match(relative) || m.is_match(&inside))
    })
}
