//! The five gates page: the doctor's walk (bg-doctor, which the `bedrock-gates` binary links)
//! for the signed-in principal, model and Region, run against this server's own endpoint with
//! the session's credentials. The server crate does not link the AWS SDKs the doctor uses, so
//! the binary hands the walk in ([`App::set_gate_walker`]); there is no second gate walk here.

use super::pages::frame;
use super::Cx;
use crate::App;
use axum::body::Body;
use axum::http::Response;
use maud::html;
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// What to walk: the doctor's inputs.
#[derive(Clone)]
pub struct WalkRequest {
    pub model: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for WalkRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalkRequest")
            .field("model", &self.model)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// The doctor's report as JSON (`bedrock-gates doctor --json`'s shape).
pub type GateWalker =
    Arc<dyn Fn(WalkRequest) -> Pin<Box<dyn Future<Output = Value> + Send>> + Send + Sync>;

impl App {
    /// The binary's doctor, for the console's five gates page.
    pub fn set_gate_walker(&self, walker: GateWalker) {
        let _ = self.gate_walker.set(walker);
    }
}

const GATE_TITLES: [(&str, &str); 6] = [
    ("credentials", "5 Credentials"),
    ("region", "3 Region"),
    ("iam", "2 IAM"),
    ("model-access", "1 Model access"),
    ("provider-terms", "4 Provider terms"),
    ("quota", "Throughput (quota)"),
];

pub async fn page(cx: &Cx<'_>) -> Response<Body> {
    let app = cx.app;
    let chosen = cx.req.q("model").unwrap_or("").to_string();
    let mut ids: Vec<(String, String)> = app
        .catalog
        .models_in_region(&cx.region)
        .map(|m| (m.id.clone(), format!("{} {}", m.provider, m.name)))
        .collect();
    ids.sort_by(|a, b| a.1.cmp(&b.1));
    ids.extend(
        app.catalog
            .profiles_in_region(&cx.region)
            .map(|p| (p.id.clone(), format!("{} (inference profile)", p.name))),
    );
    let report = match (chosen.is_empty(), app.gate_walker.get()) {
        (true, _) => None,
        (false, None) => Some(Err(
            "The gate walk is the doctor's, which this build of serve does not include.",
        )),
        (false, Some(walk)) => {
            let c = &cx.session.creds;
            Some(Ok(walk(WalkRequest {
                model: chosen.clone(),
                region: cx.region.clone(),
                access_key_id: c.access_key_id.clone(),
                secret_access_key: c.secret_access_key.clone(),
                session_token: c.session_token.clone(),
            })
            .await))
        }
    };
    let body = html! {
        form #walk-form method="get" action="/console/gates" {
            input type="hidden" name="region" value=(cx.region);
            label { "Model or inference profile (typed or picked) "
                input #walk-model name="model" list="walk-models" value=(chosen) size="60";
                datalist #walk-models { @for (id, name) in &ids { option value=(id) { (name) } } }
            }
            button #walk type="submit" { "Walk the gates" }
        }
        @match &report {
            None => {},
            Some(Err(e)) => p.error { (e) },
            Some(Ok(r)) => {
                p #caller { "Principal: " code { (r["caller"].as_str().unwrap_or("unknown")) } " in " (cx.region) }
                table #gates {
                    thead { tr { th { "Gate" } th { "Status" } th { "Evidence" } th { "Fix" } } }
                    tbody { @for g in r["gates"].as_array().into_iter().flatten() {
                        @let name = g["gate"].as_str().unwrap_or("");
                        @let status = g["status"].as_str().unwrap_or("");
                        tr data-gate=(name) data-status=(status) {
                            td { (GATE_TITLES.iter().find(|(n, _)| *n == name).map_or(name, |(_, t)| t)) }
                            td.gate-status { (status) }
                            td { (g["evidence"].as_str().unwrap_or("")) }
                            td { @if let Some(f) = g["fix"].as_str() { code.fix { (f) } " " button.copy type="button" { "Copy" } } }
                        }
                    } }
                }
                p #verdict { strong { (r["verdict"].as_str().unwrap_or("")) } }
                section #try-it {
                    h2 { "Try it" }
                    @let call = &r["call"];
                    @match call["status"].as_str().unwrap_or("") {
                        "succeeded" => p.ok { (call["operation"].as_str().unwrap_or("")) " succeeded in " (call["millis"]) " ms." },
                        "failed" => p.error { (call["error"].as_str().unwrap_or("")) },
                        _ => p { "Not called: " (call["reason"].as_str().unwrap_or("")) },
                    }
                    a href={"/console/playground?region=" (cx.region) "&model=" (super::call::enc(&chosen))} { "Open in the playground" }
                }
            }
        }
    };
    frame(cx, "The five gates", body)
}
