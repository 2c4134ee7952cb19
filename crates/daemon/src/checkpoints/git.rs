//! Snapshots of a git working tree that never touch the user's index, HEAD,
//! branches or stash: the tree is written through a temporary index
//! (`GIT_INDEX_FILE`), kept alive by a commit under `refs/viewport/…`, and
//! restored through another temporary index.

use std::path::{Path, PathBuf};
use std::process::Command;

use viewport_protocol::state::GitContext;

/// Git's empty tree, for diffs against nothing.
const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

/// The root of the git working tree `dir` is in, if it is in one.
pub fn repo_root(dir: &Path) -> Option<PathBuf> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--show-toplevel"])
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()))
}

/// A git command in `root`, with an identity for the commits vpd writes
/// (the user may have none configured) and an optional private index.
fn git(root: &Path, index: Option<&Path>) -> Command {
    let mut command = Command::new("git");
    command
        .arg("-C")
        .arg(root)
        .env("GIT_AUTHOR_NAME", "vpd")
        .env("GIT_AUTHOR_EMAIL", "vpd@localhost")
        .env("GIT_COMMITTER_NAME", "vpd")
        .env("GIT_COMMITTER_EMAIL", "vpd@localhost");
    if let Some(index) = index {
        command.env("GIT_INDEX_FILE", index);
    }
    command
}

/// Run a command; its standard output, or what went wrong.
fn run(command: &mut Command, what: &str) -> Result<String, String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot run git to {what}: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(format!(
            "git failed to {what}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// A private index file, removed when dropped.
struct TempIndex(PathBuf);

impl TempIndex {
    fn new(scratch: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(scratch)
            .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
        let path = scratch.join(format!("checkpoint-{}.index", std::process::id()));
        let _ = std::fs::remove_file(&path);
        Ok(Self(path))
    }
}

impl Drop for TempIndex {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The working tree as a tree object (tracked and untracked files,
/// `.gitignore` respected), written through a private index; and HEAD, if
/// the repository has a commit.
fn write_tree(root: &Path, scratch: &Path) -> Result<(String, Option<String>), String> {
    let index = TempIndex::new(scratch)?;
    let head = run(
        git(root, None).args(["rev-parse", "-q", "--verify", "HEAD"]),
        "find HEAD",
    )
    .ok();
    if head.is_some() {
        run(
            git(root, Some(&index.0)).args(["read-tree", "HEAD"]),
            "read HEAD",
        )?;
    }
    run(
        git(root, Some(&index.0)).args(["add", "-A", "--", "."]),
        "stage the working tree privately",
    )?;
    let tree = run(
        git(root, Some(&index.0)).arg("write-tree"),
        "write the tree",
    )?;
    Ok((tree, head))
}

/// Snapshot the working tree as a commit kept by `reference`; its id.
pub fn snapshot(
    root: &Path,
    scratch: &Path,
    reference: &str,
    message: &str,
) -> Result<String, String> {
    let (tree, head) = write_tree(root, scratch)?;
    let mut commit = git(root, None);
    commit.args(["commit-tree", &tree, "-m", message]);
    if let Some(head) = &head {
        commit.args(["-p", head]);
    }
    let commit = run(&mut commit, "record the checkpoint")?;
    run(
        git(root, None).args(["update-ref", reference, &commit]),
        "keep the checkpoint",
    )?;
    Ok(commit)
}

/// The tree of the working tree as it is, written without a commit or a
/// ref (for a preview).
pub fn current_tree(root: &Path, scratch: &Path) -> Result<String, String> {
    write_tree(root, scratch).map(|(tree, _)| tree)
}

/// What a repository is at now: branch, HEAD, upstream, changes, remote.
pub fn context(root: &Path) -> GitContext {
    let ask = |args: &[&str]| {
        run(git(root, None).args(args), "describe the repository")
            .ok()
            .filter(|out| !out.is_empty())
    };
    let remote = ask(&["config", "--get", "remote.origin.url"]).or_else(|| {
        let first = ask(&["remote"])?.lines().next()?.to_owned();
        ask(&["config", "--get", &format!("remote.{first}.url")])
    });
    GitContext {
        root: root.display().to_string(),
        branch: ask(&["symbolic-ref", "-q", "--short", "HEAD"]),
        head: ask(&["rev-parse", "-q", "--verify", "HEAD"]),
        upstream: ask(&[
            "rev-parse",
            "--abbrev-ref",
            "--symbolic-full-name",
            "@{upstream}",
        ]),
        dirty: ask(&["status", "--porcelain"]).is_some(),
        remote,
    }
}

/// The repositories a session in `dir` works in: the one holding it, or
/// else those right below it (a folder of repositories, two levels deep).
pub fn contexts(dir: &Path) -> Vec<GitContext> {
    if let Some(root) = repo_root(dir) {
        return vec![context(&root)];
    }
    let mut found = Vec::new();
    let children = |d: &Path| -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(d)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.is_dir()
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        dirs.sort();
        dirs
    };
    for child in children(dir) {
        if child.join(".git").exists() {
            found.push(context(&child));
        } else {
            found.extend(
                children(&child)
                    .into_iter()
                    .filter(|g| g.join(".git").exists())
                    .map(|g| context(&g)),
            );
        }
    }
    found
}

/// Delete a ref vpd made.
pub fn delete_ref(root: &Path, reference: &str) -> Result<(), String> {
    run(
        git(root, None).args(["update-ref", "-d", reference]),
        "delete a checkpoint ref",
    )
    .map(|_| ())
}

/// The first parent of a commit, if it has one.
pub fn parent_of(root: &Path, commit: &str) -> Option<String> {
    run(
        git(root, None).args(["rev-parse", "-q", "--verify", &format!("{commit}^")]),
        "find the parent",
    )
    .ok()
}

/// What changes between two snapshots (`None`: from nothing), as
/// `M path`, `A path`, `D path` lines.
pub fn changes(root: &Path, from: Option<&str>, to: &str) -> Result<Vec<String>, String> {
    let from = from.unwrap_or(EMPTY_TREE);
    let output = run(
        git(root, None).args([
            "diff-tree",
            "-r",
            "--no-commit-id",
            "--name-status",
            "--no-renames",
            from,
            to,
        ]),
        "compare checkpoints",
    )?;
    Ok(output
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.replacen('\t', " ", 1))
        .collect())
}

/// Make the working tree the snapshot `target`, byte for byte: its files
/// written back, files added since (`current` has, `target` has not)
/// removed. Ignored files and the user's index are left alone.
pub fn restore(root: &Path, scratch: &Path, current: &str, target: &str) -> Result<(), String> {
    let index = TempIndex::new(scratch)?;
    run(
        git(root, Some(&index.0)).args(["read-tree", target]),
        "read the checkpoint",
    )?;
    run(
        git(root, Some(&index.0)).args(["checkout-index", "-a", "-f"]),
        "write the checkpoint's files",
    )?;
    for line in changes(root, Some(current), target)? {
        if let Some(path) = line.strip_prefix("D ") {
            let file = root.join(path);
            std::fs::remove_file(&file)
                .or_else(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        Ok(())
                    } else {
                        Err(e)
                    }
                })
                .map_err(|e| format!("cannot remove {}: {e}", file.display()))?;
            remove_empty_parents(root, &file);
        }
    }
    Ok(())
}

/// Remove directories a removed file leaves empty, up to `root`.
fn remove_empty_parents(root: &Path, file: &Path) {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d == root || std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(dir: &Path, script: &str) -> String {
        let output = Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    #[test]
    fn a_rewind_restores_bytes_and_leaves_index_head_and_stash_alone() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        let scratch = dir.path().join("scratch");
        std::fs::create_dir(&repo).unwrap();
        sh(
            &repo,
            "git init -q && git config user.email t@t && git config user.name t \
                   && printf 'one\\n' > a.txt && printf 'keep\\n' > b.txt && echo ignored > .gitignore \
                   && printf 'ignored.log\\n' > .gitignore && git add . && git commit -qm init \
                   && printf 'staged\\n' >> a.txt && git add a.txt && printf 'untracked\\n' > u.txt \
                   && echo x > ignored.log && printf 'stash me\\n' > s.txt && git stash push -q -u s.txt",
        );
        let status_before = sh(&repo, "git status --porcelain");
        let index_before = sh(&repo, "git ls-files -s");
        let head_before = sh(&repo, "git rev-parse HEAD");
        let stash_before = sh(&repo, "git stash list");
        let root = repo_root(&repo).unwrap();

        let checkpoint = snapshot(&root, &scratch, "refs/viewport/test/1", "cp 1").unwrap();
        // The agent edits, creates, deletes.
        sh(
            &repo,
            "printf 'changed\\n' > a.txt && rm b.txt && mkdir -p new/deep && echo n > new/deep/c.txt && rm u.txt",
        );
        let after = snapshot(&root, &scratch, "refs/viewport/test/2", "cp 2").unwrap();
        let what = changes(&root, Some(&after), &checkpoint).unwrap();
        assert!(what.contains(&"M a.txt".to_owned()), "{what:?}");
        assert!(what.contains(&"A b.txt".to_owned()), "{what:?}");
        assert!(what.contains(&"D new/deep/c.txt".to_owned()), "{what:?}");

        restore(&root, &scratch, &after, &checkpoint).unwrap();
        assert_eq!(
            std::fs::read_to_string(repo.join("a.txt")).unwrap(),
            "one\nstaged\n"
        );
        assert_eq!(
            std::fs::read_to_string(repo.join("b.txt")).unwrap(),
            "keep\n"
        );
        assert_eq!(
            std::fs::read_to_string(repo.join("u.txt")).unwrap(),
            "untracked\n"
        );
        assert!(
            !repo.join("new").exists(),
            "files the agent made are gone, with their directories"
        );
        assert!(
            repo.join("ignored.log").exists(),
            "ignored files are not touched"
        );
        assert_eq!(sh(&repo, "git status --porcelain"), status_before);
        assert_eq!(sh(&repo, "git ls-files -s"), index_before);
        assert_eq!(sh(&repo, "git rev-parse HEAD"), head_before);
        assert_eq!(sh(&repo, "git stash list"), stash_before);
        assert!(sh(&repo, "git for-each-ref refs/viewport").contains("refs/viewport/test/1"));
    }

    #[test]
    fn a_repository_without_commits_can_be_snapshotted() {
        let dir = tempfile::tempdir().unwrap();
        let scratch = tempfile::tempdir().unwrap();
        sh(dir.path(), "git init -q && echo a > a.txt");
        let root = repo_root(dir.path()).unwrap();
        let commit = snapshot(&root, scratch.path(), "refs/viewport/t/1", "cp").unwrap();
        assert_eq!(
            changes(&root, None, &commit).unwrap(),
            vec!["A a.txt".to_owned()]
        );
    }
}
