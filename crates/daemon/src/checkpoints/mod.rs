//! Checkpoints: the working tree as it was after each step of a session,
//! kept so that `vpd rewind` can bring it back. In a git repository a
//! checkpoint is a commit under `refs/viewport/checkpoints/<session>/<n>`
//! ([`git`]); nothing of the user's index, HEAD, branches or stash changes.

pub mod git;
