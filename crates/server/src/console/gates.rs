//! Questions the pages ask of the decision engine for the signed-in principal (display only:
//! every action is a real API call, see `call`).

use super::Cx;
use bg_gates::decide::{Call, Operation, Protocol, Resource, Who};
use bg_gates::{Snapshot, State};

/// The signed-in principal as the credentials gate admits its key, in `state`.
pub fn caller(cx: &Cx, state: &State) -> Option<bg_gates::Caller> {
    let c = &cx.session.creds;
    bg_gates::credentials::authenticate(
        state,
        &c.access_key_id,
        c.session_token.as_deref(),
        cx.app.now_unix(),
    )
    .ok()
    .map(|(_, caller)| caller)
}

/// May the principal `action` on `resources` in the page's Region? `decide` without counters
/// (nothing charged) and its effects ignored (nothing written).
pub fn may(cx: &Cx, state: &State, action: &str, resources: &[Resource]) -> bool {
    let Some(who) = caller(cx, state) else {
        return false;
    };
    let snap = Snapshot {
        state,
        catalog: cx.app.catalog,
        quotas: &cx.app.quotas,
        counters: None,
        access_known: true,
    };
    let call = Call {
        who: Who::Authenticated(&who),
        protocol: Protocol::Json,
        region: &cx.region,
        source_ip: None,
        secure_transport: cx.req.origin.secure,
        op: Operation::Api { action, resources },
        now: cx.app.now_unix(),
    };
    bg_gates::decide(&call, &snap).verdict.is_ok()
}

/// The test a first Marketplace model call makes: Subscribe and ViewSubscriptions, called via
/// Bedrock.
pub fn may_subscribe(cx: &Cx, state: &State) -> bool {
    let via = Resource::arn("*")
        .with("aws:CalledViaLast", "bedrock.amazonaws.com")
        .with_multi("aws:CalledVia", vec!["bedrock.amazonaws.com".into()]);
    [
        "aws-marketplace:Subscribe",
        "aws-marketplace:ViewSubscriptions",
    ]
    .iter()
    .all(|a| may(cx, state, a, std::slice::from_ref(&via)))
}
