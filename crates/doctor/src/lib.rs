//! `bg-doctor`: the doctor, the one face that talks to a real endpoint.
//!
//! [`doctor`] walks the gates of one model call against AWS (or `serve`, with
//! `--endpoint-url`) through aws-sdk-rust and the standard credential chain, then makes one
//! minimal call and maps its outcome with the same classifier as `explain`. Everything it
//! reasons with offline (`explain`, `policy generate`, `policy check`, policy documents, terminal
//! style) lives in the pure crate `bg-diagnose`; this crate adds only the I/O.
//!
//! This crate must never depend on the server, the store or the backends: it reaches `serve`
//! only over the wire, as any AWS client does.

pub mod api_key;
pub mod doctor;
