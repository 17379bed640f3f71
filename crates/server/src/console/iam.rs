//! IAM: the account's principals (the signed-in principal's ListUsers and ListRoles) and, for
//! one principal, a grid of the Region's models × the model actions, each cell the principal's
//! `iam:SimulatePrincipalPolicy` answer with the deciding statement on hover; and the
//! least-privilege policy for the ticked models (`policy generate`'s output, the same code).

use super::call::sdk_text;
use super::pages::frame;
use super::Cx;
use axum::body::Body;
use axum::http::Response;
use maud::html;

pub const ACTIONS: [&str; 3] = [
    "bedrock:InvokeModel",
    "bedrock:InvokeModelWithResponseStream",
    "bedrock:CountTokens",
];

/// The text of every `<tag>` of an XML answer, in order.
fn all_tags(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(super::call::xml_unescape(&after[..j]));
        rest = &after[j + close.len()..];
    }
    out
}

/// One simulated cell.
struct Cell {
    decision: String,
    statements: Vec<String>,
}

pub async fn page(cx: &Cx<'_>) -> Response<Body> {
    let mut principals = Vec::new();
    for action in ["ListUsers", "ListRoles"] {
        let a = cx
            .query(
                "iam",
                &[
                    ("Action", action),
                    ("Version", "2010-05-08"),
                    ("MaxItems", "1000"),
                ],
            )
            .await;
        if let Some((c, m)) = a.error() {
            let text = sdk_text(&c, action, &m);
            return frame(cx, "IAM", html! { p.error role="alert" { (text) } });
        }
        principals.extend(all_tags(&String::from_utf8_lossy(&a.body), "Arn"));
    }
    let chosen = cx.req.q("principal").unwrap_or("").to_string();
    let models: Vec<&bg_catalog::Model> = cx
        .app
        .catalog
        .models_in_region(&cx.region)
        .filter(|m| m.is_on_demand_in(&cx.region))
        .collect();
    let ticked: Vec<&str> = cx
        .req
        .query
        .iter()
        .filter(|(k, _)| k == "tick")
        .map(|(_, v)| v.as_str())
        .collect();
    let mut grid: Option<Result<Vec<Vec<Cell>>, String>> = None;
    if !chosen.is_empty() {
        grid = Some(simulate(cx, &chosen, &models).await);
    }
    let generated = (!ticked.is_empty()).then(|| {
        let req = bg_diagnose::generate::Request {
            models: ticked.iter().map(|t| t.to_string()).collect(),
            regions: vec![cx.region.clone()],
            streaming: true,
            account: Some(cx.session.account.clone()),
            ..Default::default()
        };
        bg_diagnose::generate::generate(&req, cx.app.catalog)
            .map(|g| g.identity.to_pretty())
            .map_err(|e| e.to_string())
    });
    let body = html! {
        form #principal-form method="get" action="/console/iam" {
            input type="hidden" name="region" value=(cx.region);
            label { "Principal " select #principal-pick name="principal" {
                @for p in &principals { option value=(p) selected[*p == chosen] { (p) } }
            } }
            button #show-grid type="submit" { "Show permissions" }
        }
        @if let Some(g) = &grid {
            @match g {
                Err(e) => p.error role="alert" { (e) },
                Ok(rows) => form #grid-form method="get" action="/console/iam" {
                    input type="hidden" name="region" value=(cx.region);
                    input type="hidden" name="principal" value=(chosen);
                    table #grid {
                        thead { tr { th { "Policy" } th { "Model" } @for a in ACTIONS { th { (a.trim_start_matches("bedrock:")) } } } }
                        tbody { @for (m, cells) in models.iter().zip(rows) {
                            tr data-model=(m.id) {
                                td { input type="checkbox" name="tick" value=(m.id) checked[ticked.contains(&m.id.as_str())]; }
                                td { (m.id) }
                                @for (a, c) in ACTIONS.iter().zip(cells) {
                                    @let allowed = c.decision == "allowed";
                                    td.cell data-action=(a) data-decision=(c.decision)
                                       title=(if c.statements.is_empty() { format!("{}: no statement allows it", c.decision) } else { format!("{}: {}", c.decision, c.statements.join(", ")) }) {
                                        @if allowed { "allowed" } @else { "refused (" (c.decision) ")" }
                                    }
                                }
                            }
                        } }
                    }
                    button #generate type="submit" { "Least-privilege policy for the ticked models" }
                },
            }
        }
        @if let Some(g) = &generated {
            section #least-privilege {
                h2 { "Least-privilege policy (bedrock-gates policy generate)" }
                @match g {
                    Ok(doc) => pre #policy { (doc) },
                    Err(e) => p.error { (e) },
                }
            }
        }
    };
    frame(cx, "IAM", body)
}

/// The principal's SimulatePrincipalPolicy for every model × action, as the signed-in principal
/// (who needs iam:SimulatePrincipalPolicy, as in AWS's console).
async fn simulate(
    cx: &Cx<'_>,
    principal: &str,
    models: &[&bg_catalog::Model],
) -> Result<Vec<Vec<Cell>>, String> {
    let arns: Vec<String> = models.iter().map(|m| m.arn(&cx.region)).collect();
    let mut params: Vec<(String, String)> = vec![
        ("Action".into(), "SimulatePrincipalPolicy".into()),
        ("Version".into(), "2010-05-08".into()),
        ("PolicySourceArn".into(), principal.into()),
        ("MaxItems".into(), "1000".into()),
    ];
    for (i, a) in ACTIONS.iter().enumerate() {
        params.push((format!("ActionNames.member.{}", i + 1), a.to_string()));
    }
    for (i, r) in arns.iter().enumerate() {
        params.push((format!("ResourceArns.member.{}", i + 1), r.clone()));
    }
    let mut members: Vec<(String, String, String, Vec<String>)> = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let mut p = params.clone();
        if let Some(m) = &marker {
            p.push(("Marker".into(), m.clone()));
        }
        let refs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let a = cx.query("iam", &refs).await;
        if let Some((c, m)) = a.error() {
            return Err(sdk_text(&c, "SimulatePrincipalPolicy", &m));
        }
        let xml = String::from_utf8_lossy(&a.body).into_owned();
        // Each result is one <member> of EvaluationResults with its name, resource, decision
        // and matched statements.
        for chunk in xml.split("<EvalActionName>").skip(1) {
            let action = chunk
                .split("</EvalActionName>")
                .next()
                .unwrap_or("")
                .to_string();
            let resource = super::call::xml_tag(chunk, "EvalResourceName").unwrap_or_default();
            let decision = super::call::xml_tag(chunk, "EvalDecision").unwrap_or_default();
            let statements = all_tags(chunk, "SourcePolicyId");
            members.push((action, resource, decision, statements));
        }
        marker = (super::call::xml_tag(&xml, "IsTruncated").as_deref() == Some("true"))
            .then(|| super::call::xml_tag(&xml, "Marker"))
            .flatten();
        if marker.is_none() {
            break;
        }
    }
    Ok(arns
        .iter()
        .map(|arn| {
            ACTIONS
                .iter()
                .map(|a| {
                    let m = members.iter().find(|(ac, r, _, _)| ac == a && r == arn);
                    Cell {
                        decision: m.map(|m| m.2.clone()).unwrap_or_else(|| "unknown".into()),
                        statements: m.map(|m| m.3.clone()).unwrap_or_default(),
                    }
                })
                .collect()
        })
        .collect())
}
