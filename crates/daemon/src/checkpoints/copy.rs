//! Snapshots of a directory that is not a git repository: a copy of its
//! files under the session's directory. Version-control metadata, build
//! output and dependency folders are left out, as is the data home.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Directories never copied (nor removed by a rewind).
const SKIPPED: &[&str] = &[".git", ".viewport", "node_modules", "target"];
/// The largest tree copied.
pub const MAX_BYTES: u64 = 256 * 1024 * 1024;

/// The files under `root`, by path relative to it.
fn files(root: &Path) -> Result<BTreeMap<PathBuf, PathBuf>, String> {
    let mut found = BTreeMap::new();
    let mut pending = vec![root.to_owned()];
    while let Some(dir) = pending.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                let name = entry.file_name();
                if !SKIPPED.iter().any(|s| name == *s) {
                    pending.push(path);
                }
            } else if kind.is_file() {
                let relative = path.strip_prefix(root).unwrap_or(&path).to_owned();
                found.insert(relative, path);
            }
        }
    }
    Ok(found)
}

/// Copy the files of `root` to `target`.
pub fn snapshot(root: &Path, target: &Path) -> Result<(), String> {
    let listed = files(root)?;
    let total: u64 = listed
        .values()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    if total > MAX_BYTES {
        return Err(format!(
            "{} holds {total} bytes, more than the {MAX_BYTES} a copy checkpoint takes; make it a git repository for checkpoints",
            root.display()
        ));
    }
    for (relative, source) in listed {
        copy_file(&source, &target.join(relative))?;
    }
    std::fs::create_dir_all(target).map_err(|e| format!("cannot create {}: {e}", target.display()))
}

fn copy_file(from: &Path, to: &Path) -> Result<(), String> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    std::fs::copy(from, to).map_err(|e| format!("cannot copy {}: {e}", from.display()))?;
    Ok(())
}

fn same(a: &Path, b: &Path) -> bool {
    match (std::fs::read(a), std::fs::read(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// What going from the tree `from` to the tree `to` changes: `M`, `A`, `D` lines.
fn compare(from: &BTreeMap<PathBuf, PathBuf>, to: &BTreeMap<PathBuf, PathBuf>) -> Vec<String> {
    let mut changes = Vec::new();
    for (relative, path) in to {
        match from.get(relative) {
            None => changes.push(format!("A {}", relative.display())),
            Some(before) if !same(before, path) => {
                changes.push(format!("M {}", relative.display()))
            }
            Some(_) => {}
        }
    }
    for relative in from.keys().filter(|r| !to.contains_key(*r)) {
        changes.push(format!("D {}", relative.display()));
    }
    changes.sort_by(|a, b| a[2..].cmp(&b[2..]));
    changes
}

/// What changed from the snapshot `previous` (none: from nothing) to `target`.
pub fn changes(previous: Option<&Path>, target: &Path) -> Result<Vec<String>, String> {
    let before = match previous {
        Some(previous) => files(previous)?,
        None => BTreeMap::new(),
    };
    Ok(compare(&before, &files(target)?))
}

/// What restoring the snapshot `target` onto `root` changes.
pub fn changes_to(root: &Path, target: &Path) -> Result<Vec<String>, String> {
    Ok(compare(&files(root)?, &files(target)?))
}

/// Make `root` the snapshot `target`: its files written back, files it
/// does not have removed.
pub fn restore(root: &Path, target: &Path) -> Result<(), String> {
    let wanted = files(target)?;
    for (relative, path) in files(root)? {
        if !wanted.contains_key(&relative) {
            std::fs::remove_file(&path)
                .map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
        }
    }
    for (relative, source) in &wanted {
        let destination = root.join(relative);
        if !same(source, &destination) {
            copy_file(source, &destination)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_checkpoint_restores_the_tree_it_was() {
        let work = tempfile::tempdir().unwrap();
        let store = tempfile::tempdir().unwrap();
        let root = work.path();
        std::fs::write(root.join("a.txt"), "one").unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/b.txt"), "two").unwrap();
        let first = store.path().join("1");
        snapshot(root, &first).unwrap();
        assert_eq!(
            changes(None, &first).unwrap(),
            vec!["A a.txt", "A sub/b.txt"]
        );

        std::fs::write(root.join("a.txt"), "changed").unwrap();
        std::fs::remove_file(root.join("sub/b.txt")).unwrap();
        std::fs::write(root.join("new.txt"), "new").unwrap();
        assert_eq!(
            changes_to(root, &first).unwrap(),
            vec!["M a.txt", "D new.txt", "A sub/b.txt"]
        );
        restore(root, &first).unwrap();
        assert_eq!(std::fs::read_to_string(root.join("a.txt")).unwrap(), "one");
        assert_eq!(
            std::fs::read_to_string(root.join("sub/b.txt")).unwrap(),
            "two"
        );
        assert!(!root.join("new.txt").exists());
        assert!(changes_to(root, &first).unwrap().is_empty());
    }
}
