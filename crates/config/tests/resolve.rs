#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Manifests of a fixture tree: a registered root that is not a repository,
//! holding two repositories, each with its own config.

use std::path::Path;

use viewport_config::{Section, manifest};

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The tree, in a temp dir: `home/` (the data home) and `meta/`, the registered root.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let at = dir.path();
    write(
        at,
        "home/config.yaml",
        "agentProfiles:\n  default:\n    agent: demo\njobs:\n  maxParallel: 2\n",
    );
    write(
        at,
        "meta/.viewport/config.yaml",
        "version: 1\ncontexts:\n  shared:\n    text: Shared rules for every repo.\njobs:\n  maxParallel: 4\nplans:\n  release:\n    steps: [tag, publish]\n",
    );
    std::fs::create_dir_all(at.join("meta/alpha/.git")).unwrap();
    write(
        at,
        "meta/alpha/.viewport/config.yaml",
        "agentProfiles:\n  fast:\n    agent: claude-code\n    model: claude-sonnet-4-5\ncontexts:\n  style:\n    file: STYLE.md\n    appliesTo: [\"src/**\"]\ntemplates:\n  web:\n    command: npm run dev\nplans:\n  release:\n    steps: [tag, publish]\n",
    );
    write(
        at,
        "meta/alpha/src/.viewport/config.yaml",
        "contexts:\n  src-only:\n    text: Only in src.\njobs:\n  maxParallel: 8\n",
    );
    std::fs::create_dir_all(at.join("meta/beta/.git")).unwrap();
    write(
        at,
        "meta/beta/.viewport/config.yaml",
        "agentProfiles:\n  fast:\n    agent: codex\ntemplates:\n  web:\n    command: npm run dev\nworkflows:\n  ship:\n    steps:\n      - {name: test, prompt: run the tests, parallel: true}\n      - {name: lint, prompt: run the linter, parallel: true}\n      - {name: release, profile: default, prompt: cut the release}\n",
    );
    dir
}

/// The manifest as JSON, the temp dir written as `<tmp>`.
fn snapshot_text(dir: &Path, at: &str) -> String {
    let root = dir.join("meta");
    let manifest = manifest(&dir.join("home"), Some(&root), &dir.join(at)).unwrap();
    serde_json::to_string_pretty(&manifest)
        .unwrap()
        .replace(&dir.display().to_string(), "<tmp>")
}

#[test]
fn above_two_repositories_their_configs_merge_and_a_difference_is_a_conflict() {
    let dir = tree();
    insta::assert_snapshot!(snapshot_text(dir.path(), "meta"));
    let manifest = manifest(
        &dir.path().join("home"),
        Some(&dir.path().join("meta")),
        &dir.path().join("meta"),
    )
    .unwrap();
    let conflict = manifest.conflict(Section::AgentProfiles, "fast").unwrap();
    assert_eq!(conflict.definitions.len(), 2);
    assert!(
        !manifest.agent_profiles.contains_key("fast"),
        "nothing is chosen"
    );
    assert!(
        manifest.conflict(Section::Templates, "web").is_none(),
        "identical is no conflict"
    );
    assert!(manifest.conflict(Section::Plans, "release").is_none());
}

#[test]
fn inside_a_repository_the_files_from_the_root_down_apply_in_order() {
    let dir = tree();
    insta::assert_snapshot!(snapshot_text(dir.path(), "meta/alpha/src"));
    let manifest = manifest(
        &dir.path().join("home"),
        Some(&dir.path().join("meta")),
        &dir.path().join("meta/alpha/src"),
    )
    .unwrap();
    assert_eq!(
        manifest.jobs_max_parallel,
        Some(8),
        "the nearest file's setting wins"
    );
    assert!(manifest.conflicts.is_empty(), "{:?}", manifest.conflicts);
    assert!(manifest.contexts["style"].applies);
}

#[test]
fn a_context_for_elsewhere_is_listed_but_does_not_apply() {
    let dir = tree();
    let root = dir.path().join("meta");
    std::fs::create_dir_all(root.join("alpha/docs")).unwrap();
    let manifest = manifest(
        &dir.path().join("home"),
        Some(&root),
        &root.join("alpha/docs"),
    )
    .unwrap();
    assert!(!manifest.contexts["style"].applies);
    assert!(manifest.contexts["shared"].applies);
}

#[test]
fn every_problem_of_every_file_is_reported_together() {
    let dir = tree();
    write(
        dir.path(),
        "meta/alpha/.viewport/config.yaml",
        "agentProfiles:\n  fast:\n    agnt: x\n",
    );
    write(
        dir.path(),
        "meta/beta/.viewport/config.yaml",
        "workflow: {}\n",
    );
    let root = dir.path().join("meta");
    let errors = manifest(&dir.path().join("home"), Some(&root), &root).unwrap_err();
    assert_eq!(errors.0.len(), 2, "{errors}");
    let text = errors.to_string();
    assert!(text.contains("alpha/.viewport/config.yaml:3:5"), "{text}");
    assert!(text.contains("beta/.viewport/config.yaml:1:1"), "{text}");
}
