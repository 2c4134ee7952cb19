#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Every problem in a broken config file, with file, line and column: one
//! snapshot per file under `tests/broken/`.

use std::path::Path;

use viewport_config::check::check_file;

fn problems(name: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken");
    let errors = check_file(&dir.join(name)).expect_err("a broken file must not pass");
    let text: Vec<String> = errors
        .iter()
        .map(|d| d.to_string().replace(&format!("{}/", dir.display()), ""))
        .collect();
    text.join("\n")
}

macro_rules! broken {
    ($($test:ident => $file:literal),* $(,)?) => {$(
        #[test]
        fn $test() {
            insta::assert_snapshot!(stringify!($test), problems($file));
        }
    )*};
}

broken! {
    unknown_section => "unknown-section.yaml",
    unknown_field => "unknown-field.yaml",
    wrong_type => "wrong-type.yaml",
    duplicate_names => "duplicate-names.yaml",
    bad_glob => "bad-glob.yaml",
    two_sources => "two-sources.yaml",
    missing_field => "missing-field.yaml",
    bad_version => "bad-version.yaml",
    syntax => "syntax.yaml",
    section_not_mapping => "section-not-mapping.yaml",
    bad_enum => "bad-enum.yaml",
    zero_parallel => "zero-parallel.yaml",
    bad_listen => "bad-listen.yaml",
    bad_redaction => "bad-redaction.yaml",
    bad_relay => "bad-relay.yaml",
    bad_hosts => "bad-hosts.yaml",
    duplicate_step => "duplicate-step.yaml",
    many_problems => "many-problems.yaml",
}

#[test]
fn an_alias_bomb_is_rejected_with_a_clear_message() {
    let mut bomb =
        String::from("plans:\n  a: &a {steps: [lol, lol, lol, lol, lol, lol, lol, lol, lol]}\n");
    let mut previous = "a".to_owned();
    for level in ["b", "c", "d", "e", "f", "g", "h", "i"] {
        let refs = vec![format!("*{previous}"); 9].join(", ");
        bomb.push_str(&format!("  {level}: &{level} [{refs}]\n"));
        previous = level.to_owned();
    }
    let errors = viewport_config::check::check_text(Path::new("bomb.yaml"), &bomb).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let message = errors[0].to_string();
    assert!(message.contains("alias"), "{message}");
}

#[test]
fn a_100_mb_file_is_rejected_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(100 * 1024 * 1024).unwrap();
    let errors = check_file(&path).unwrap_err();
    assert!(errors[0].message.contains("at most"), "{errors:?}");
}

#[test]
fn a_deeply_nested_file_is_rejected() {
    let deep = format!(
        "plans:\n  p:\n    steps: {}x{}\n",
        "[".repeat(200),
        "]".repeat(200)
    );
    let errors = viewport_config::check::check_text(Path::new("deep.yaml"), &deep).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
}

#[test]
fn the_full_example_in_the_docs_is_valid() {
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/config.md"))
            .unwrap();
    let start = docs.find("## A full example").unwrap();
    let block = &docs[start..];
    let yaml = block
        .split("```yaml\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let checked = viewport_config::check::check_text(Path::new("docs/config.md"), yaml);
    let checked = checked.unwrap_or_else(|problems| panic!("{problems:?}"));
    assert_eq!(checked.config.workflows["ship"].steps.len(), 3);
}
