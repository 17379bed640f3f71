//! Quotas: per model of the Region, the account's tokens this minute and today against the
//! limits in force (the throughput gate's own counters and limits), and the throttles the audit
//! log holds for it.

use super::pages::frame;
use super::Cx;
use axum::body::Body;
use axum::http::Response;
use maud::html;

pub fn page(cx: &Cx) -> Response<Body> {
    let app = cx.app;
    let now = app.now_unix();
    let account = &cx.session.account;
    let throttles = super::refusals::rows(app, account);
    let body = html! {
        table #quotas {
            thead { tr {
                th { "Model" } th { "Requests this minute" } th { "Tokens this minute" } th { "Tokens per minute limit" }
                th { "Tokens today" } th { "Tokens per day limit" } th { "Throttles" }
            } }
            tbody { @for m in app.catalog.models_in_region(&cx.region).filter(|m| m.is_on_demand_in(&cx.region)) {
                @let limits = app.quotas.limits(app.catalog, account, &cx.region, m, false);
                @let (req, tok, day) = app.meter.usage(&bg_gates::quota::Meter::key(account, &cx.region, &m.id), now);
                @let n = throttles.iter().filter(|r| r.gate == "quota" && r.region == cx.region && r.model.contains(m.id.as_str())).count();
                tr data-model=(m.id) {
                    td { (m.id) } td { (req) } td.tokens-minute { (tok) } td { (limits.tpm) }
                    td { (day) } td { @if let Some(d) = limits.tpd { (d) } @else { "-" } }
                    td.throttles { (n) }
                }
            } }
        }
    };
    frame(cx, "Quotas", body)
}
