//! `.viewport/config.yaml`: loading, validation and resolution of the manifest.
//!
//! Not built yet: config resolution arrives with its own issue. The crate
//! exists so the dependency graph of the workspace has its final shape.
