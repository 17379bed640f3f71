//! `bg-doctor`: the faces people use when a Bedrock call fails.
//!
//! - [`explain`]: an AWS error text → the gate that refused, the cause, the facts in the text and
//!   the fix with its command. Pure and offline.
//! - [`generate`]: `policy generate`, a least-privilege identity policy (and a guard-rail SCP) for
//!   named models, Regions and inference-profile prefixes, validated by the IAM engine. Pure.
//! - [`check`]: `policy check`, whether a principal with given policies may call a model, through
//!   the same functions the server decides with (`bg_gates::region::resolve`,
//!   `bg_gates::invoke::invoke_resources`, `bg_iam::evaluate`). Pure.
//! - [`doctor`]: walks the gates against a real endpoint (AWS or `serve`) through aws-sdk-rust and
//!   the standard credential chain, then makes one minimal call and maps its outcome with the
//!   same classifier as `explain`. The only module that does I/O.
//!
//! This crate must never depend on the server, the store or the backends: it reaches `serve`
//! only over the wire, as any AWS client does.

pub mod check;
pub mod doctor;
pub mod document;
pub mod explain;
pub mod generate;
pub mod style;
