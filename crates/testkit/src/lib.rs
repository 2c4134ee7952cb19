//! Test equipment that is real, not mocked.
//!
//! # Layout
//! - [`demo_agent`]: a scripted agent speaking real ACP over stdio, driven by
//!   the prompt text. It ships inside `vpd` as the `demo` profile, so the main
//!   README command runs with no API key, and tests and benchmarks use it.
//! - [`daemon`]: start a real `vpd daemon` on a temp `VIEWPORT_HOME` and a free
//!   port, connect clients to it, and clean up on drop.
//! - [`model_server`]: a scripted model API (Anthropic, OpenAI Responses,
//!   Gemini) on loopback, for real agent programs to talk to in tests.
//! - [`faults`]: a daemon killed mid-burst, and the check that everything a
//!   viewport saw is stored, densely.
//! - [`nats`]: a real `nats-server` on a free loopback port, tracing every
//!   message it carries to a log the test can read.

pub mod daemon;
pub mod demo_agent;
pub mod faults;
pub mod model_server;
pub mod nats;
