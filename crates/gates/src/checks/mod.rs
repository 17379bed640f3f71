//! The gates of [`crate::decide::GATES`], one module each. Each builds its own refusals; the
//! facts and AWS's texts they use live in the crate's topic modules (`region`, `authz`,
//! `access`, `quota`, `credentials`).

pub mod credentials;
pub mod faults;
pub mod iam;
pub mod model_access;
pub mod quota;
pub mod region;
pub mod request;
