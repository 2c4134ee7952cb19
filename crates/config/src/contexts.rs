//! The contexts of a manifest that apply, read into what a session's first
//! prompt carries: a file's text, the files a glob matches, or inline text.
//! Reading is bounded: a context never floods a prompt.

use std::path::{Path, PathBuf};

use globset::Glob;
use viewport_protocol::options::ContextItem;

use crate::resolve::{Manifest, ResolvedContext};

/// Most bytes read of one file.
pub const MAX_FILE_BYTES: usize = 256 * 1024;
/// Most files a glob context brings.
pub const MAX_GLOB_FILES: usize = 50;

/// The context items of every context that applies, in name order, and a
/// sentence for each that could not be read.
pub fn applicable_items(manifest: &Manifest) -> (Vec<ContextItem>, Vec<String>) {
    let mut items = Vec::new();
    let mut problems = Vec::new();
    for (name, context) in manifest.contexts.iter().filter(|(_, c)| c.applies) {
        match items_of(name, context) {
            Ok(mut found) => items.append(&mut found),
            Err(problem) => problems.push(problem),
        }
    }
    (items, problems)
}

fn items_of(name: &str, context: &ResolvedContext) -> Result<Vec<ContextItem>, String> {
    let definition = &context.definition;
    if let Some(text) = &definition.text {
        return Ok(vec![ContextItem {
            uri: format!("vpd-context:{name}"),
            text: Some(text.clone()),
            mime_type: Some("text/plain".to_owned()),
        }]);
    }
    if let Some(file) = &definition.file {
        let path = context.base.join(file);
        return file_item(&path)
            .map(|item| vec![item])
            .map_err(|e| format!("context `{name}`: cannot read {}: {e}", path.display()));
    }
    let Some(pattern) = &definition.glob else {
        return Ok(Vec::new());
    };
    let matcher = Glob::new(pattern)
        .map_err(|e| format!("context `{name}`: {e}"))?
        .compile_matcher();
    let mut files = Vec::new();
    walk(&context.base, &context.base, &mut |relative, path| {
        if matcher.is_match(relative) {
            files.push(path.to_owned());
        }
        files.len() < MAX_GLOB_FILES
    });
    files.sort();
    Ok(files
        .iter()
        .filter_map(|path| file_item(path).ok())
        .collect())
}

fn file_item(path: &Path) -> std::io::Result<ContextItem> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_FILE_BYTES as u64)
        .read_to_end(&mut bytes)?;
    Ok(ContextItem {
        uri: format!("file://{}", path.display()),
        text: Some(String::from_utf8_lossy(&bytes).into_owned()),
        mime_type: None,
    })
}

/// Visit the files under `dir` (not `.git`, `node_modules`, `target` or
/// hidden ones) until `visit` says stop.
fn walk(base: &Path, dir: &Path, visit: &mut dyn FnMut(&Path, &Path) -> bool) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return true;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') || name == "node_modules" || name == "target" {
            continue;
        }
        let going_on = if path.is_dir() {
            walk(base, &path, visit)
        } else {
            let relative = path.strip_prefix(base).unwrap_or(&path).to_owned();
            visit(&relative, &path)
        };
        if !going_on {
            return false;
        }
    }
    true
}
