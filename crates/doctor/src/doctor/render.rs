//! The report for people: a table of gates, then the call and the verdict.

use super::*;

/// The human form: a table of gate, status and evidence, with the fix under each shut gate.
pub fn render(r: &Report, style: Style) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{} {}  {} {}  {} {}{}\n\n",
        style.bold("model"),
        r.model,
        style.bold("region"),
        r.region.as_deref().unwrap_or("-"),
        style.bold("caller"),
        r.caller.as_deref().unwrap_or("-"),
        r.endpoint
            .as_deref()
            .map(|e| format!("  {} {e}", style.bold("endpoint")))
            .unwrap_or_default()
    ));
    out.push_str(&format!(
        "{}{}{}\n",
        style.bold(&pad("GATE", 16)),
        style.bold(&pad("STATUS", 9)),
        style.bold("EVIDENCE")
    ));
    for g in &r.gates {
        let status = match g.status {
            Status::Open => style.green(&pad("open", 9)),
            Status::Shut => style.red(&pad("shut", 9)),
            Status::Unknown => style.yellow(&pad("unknown", 9)),
        };
        let evidence = if g.evidence.is_empty() {
            "-".to_string()
        } else {
            // one piece of evidence per line, under the column
            g.evidence.join(&format!("\n{}", " ".repeat(25)))
        };
        out.push_str(&format!("{}{status}{evidence}\n", pad(g.gate.as_str(), 16)));
        if let Some(f) = &g.fix {
            out.push_str(&format!(
                "{}{} {}\n",
                " ".repeat(25),
                style.bold("fix:"),
                bg_diagnose::style::indent_rest(f, 30)
            ));
        }
    }
    let call = match &r.call {
        Call::Skipped(why) => format!("not made ({why})"),
        Call::Succeeded { operation, millis } => format!("{operation} succeeded in {millis} ms"),
        Call::Failed { operation, raw, .. } => format!("{operation} failed: {raw}"),
    };
    out.push_str(&format!("\n{} {call}\n", style.bold("call")));
    let verdict = if r.exit_code == EXIT_OPEN {
        style.green(&r.verdict)
    } else if r.exit_code == EXIT_UNKNOWN {
        style.yellow(&r.verdict)
    } else {
        style.red(&r.verdict)
    };
    out.push_str(&format!("{} {verdict}\n", style.bold("verdict")));
    out
}
