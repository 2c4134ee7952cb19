//! Builds the browser UI (`web/`, with the TypeScript SDK from `sdk/ts/src`)
//! with its own npm tooling and embeds the result: `web_assets.rs` in
//! OUT_DIR lists every file with its bytes.
//!
//! `VIEWPORT_WEB_DIST=DIR` embeds an already built UI instead (for machines
//! without node); the files must be what `node web/build.mjs DIR` writes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

fn main() {
    if let Err(message) = build() {
        // A build script can only fail by panicking; say exactly what to do.
        panic!("\n\nbuilding the web UI failed: {message}\n\n");
    }
}

fn build() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let out_dir = PathBuf::from(env::var("OUT_DIR").map_err(|e| e.to_string())?);
    let web = manifest_dir.join("../../web");
    println!("cargo:rerun-if-env-changed=VIEWPORT_WEB_DIST");
    let dist = match env::var_os("VIEWPORT_WEB_DIST") {
        Some(dist) => PathBuf::from(dist),
        None => {
            for watched in [
                "src",
                "build.mjs",
                "package.json",
                "package-lock.json",
                "tsconfig.json",
                "../sdk/ts/src",
            ] {
                println!("cargo:rerun-if-changed={}", web.join(watched).display());
            }
            let dist = out_dir.join("web");
            install_packages(&web)?;
            run(Command::new("node")
                .arg("build.mjs")
                .arg(&dist)
                .current_dir(&web))?;
            dist
        }
    };
    write_asset_list(&dist, &out_dir.join("web_assets.rs"))
}

/// `npm ci`, only when node_modules is missing or older than the lock file.
/// Build scripts of two profiles may run at once: one installs at a time.
fn install_packages(web: &Path) -> Result<(), String> {
    let guard_path = web.join(".install.lock");
    let guard = fs::File::create(&guard_path)
        .map_err(|e| format!("cannot create {}: {e}", guard_path.display()))?;
    guard
        .lock()
        .map_err(|e| format!("cannot lock {}: {e}", guard_path.display()))?;
    let lock = web.join("package-lock.json");
    let installed = web.join("node_modules/.package-lock.json");
    let modified = |path: &Path| fs::metadata(path).and_then(|m| m.modified()).ok();
    if matches!((modified(&installed), modified(&lock)), (Some(i), Some(l)) if i >= l) {
        return Ok(());
    }
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(web))
}

fn run(command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    let status = command.status().map_err(|e| {
        format!("cannot run {shown}: {e} (node and npm must be installed, or set VIEWPORT_WEB_DIST to a built UI)")
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed with {status}"))
    }
}

/// `pub static WEB_ASSETS: &[WebAsset]`, each file of `dist` by URL path,
/// with its gzip twin when the build wrote one.
fn write_asset_list(dist: &Path, out: &Path) -> Result<(), String> {
    let mut entries = Vec::new();
    collect(dist, dist, &mut entries)?;
    entries.sort();
    let mut code = String::from("pub static WEB_ASSETS: &[WebAsset] = &[\n");
    for relative in &entries {
        if relative.ends_with(".gz") {
            continue;
        }
        let file = dist.join(relative);
        let gzip = dist.join(format!("{relative}.gz"));
        let gzip = if gzip.exists() {
            format!("Some(include_bytes!({:?}))", gzip.display().to_string())
        } else {
            "None".to_owned()
        };
        code.push_str(&format!(
            "    WebAsset {{ path: {:?}, body: include_bytes!({:?}), gzip: {gzip} }},\n",
            format!("/{relative}"),
            file.display().to_string(),
        ));
    }
    code.push_str("];\n");
    fs::write(out, code).map_err(|e| format!("cannot write {}: {e}", out.display()))
}

fn collect(root: &Path, dir: &Path, entries: &mut Vec<String>) -> Result<(), String> {
    let read = fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in read {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            collect(root, &path, entries)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            entries.push(relative.to_string_lossy().into_owned());
        }
    }
    Ok(())
}
