//! `bg-diagnose`: the offline faces people use when a Bedrock call fails, and what they share
//! with the doctor.
//!
//! - [`explain`]: an AWS error text → the gate that refused, the cause, the facts in the text and
//!   the fix with its command.
//! - [`generate`]: `policy generate`, a least-privilege identity policy (and a guard-rail SCP) for
//!   named models, Regions and inference-profile prefixes, validated by the IAM engine.
//! - [`check`]: `policy check`, whether a principal with given policies may call a model, through
//!   the same functions the server decides with (`bg_gates::region::resolve`,
//!   `bg_gates::invoke::invoke_resources`, `bg_iam::evaluate`).
//! - [`document`]: policy documents as these faces write them (fixed element order, parsed by
//!   the IAM engine before anyone sees them).
//! - [`style`]: terminal rendering (colour, padding) for the text output of every face.
//!
//! The doctor (`bg-doctor`, which talks to AWS or `serve` through aws-sdk-rust) is built on this
//! crate: it maps the outcome of the call it makes with [`explain`] and writes its fixes with
//! [`generate`], so the offline and online faces give one answer.
//!
//! Pure: these functions compute over their arguments, the embedded catalog and the IAM engine;
//! they never touch the network, the filesystem or a clock. The one look outside is
//! [`style::Style::detect`], which reads `NO_COLOR` and whether stdout is a terminal.
//!
//! This crate must never depend on tokio, any `aws-sdk-*`, `aws-config` or `aws-smithy-*` crate,
//! hyper, or any other I/O crate, nor on the server, the store or the backends: the compiler then
//! keeps `explain`, `generate` and `check` pure. Whatever needs I/O belongs in `bg-doctor` (or
//! the cli), which depends on this crate, never the reverse.

pub mod check;
pub mod document;
pub mod explain;
pub mod generate;
pub mod style;
