//! The real minimal call and how its outcome maps onto the gates.

use super::*;

/// A minimal InvokeModel body for models that Converse does not take.
pub(super) fn minimal_body(model: &Model) -> Option<&'static str> {
    use bg_catalog::ModelFamily as F;
    match model.family {
        F::AmazonTitanEmbed => Some(r#"{"inputText":"hi"}"#),
        F::CohereEmbed => Some(r#"{"texts":["hi"],"input_type":"search_query"}"#),
        _ => None,
    }
}

pub(super) async fn the_call(
    runtime: &aws_sdk_bedrockruntime::Client,
    w: &Wanted<'_>,
) -> Result<(String, u128), (String, CallError)> {
    use aws_sdk_bedrockruntime::types::{
        ContentBlock, ConversationRole, InferenceConfiguration, Message,
    };
    let start = Instant::now();
    if let Some(m) = w.model.filter(|m| !m.converse) {
        let body = minimal_body(m).unwrap_or(r#"{"inputText":"hi"}"#);
        return runtime
            .invoke_model()
            .model_id(&w.identifier)
            .content_type("application/json")
            .accept("application/json")
            .body(aws_sdk_bedrockruntime::primitives::Blob::new(body))
            .send()
            .await
            .map(|_| ("InvokeModel".to_string(), start.elapsed().as_millis()))
            .map_err(|e| ("InvokeModel".to_string(), CallError::of(&e)));
    }
    let msg = Message::builder()
        .role(ConversationRole::User)
        .content(ContentBlock::Text("hi".into()))
        .build()
        .map_err(|e| {
            (
                "Converse".to_string(),
                CallError {
                    code: None,
                    message: e.to_string(),
                    service: false,
                },
            )
        })?;
    runtime
        .converse()
        .model_id(&w.identifier)
        .messages(msg)
        .inference_config(InferenceConfiguration::builder().max_tokens(1).build())
        .send()
        .await
        .map(|_| ("Converse".to_string(), start.elapsed().as_millis()))
        .map_err(|e| ("Converse".to_string(), CallError::of(&e)))
}

/// Why the call is not made for a model that neither takes Converse nor has a known minimal
/// InvokeModel body.
pub(super) fn no_minimal_request(w: &Wanted<'_>) -> Option<String> {
    w.model
        .filter(|m| !m.converse && minimal_body(m).is_none())
        .map(|m| {
            format!(
                "{} does not take Converse and no minimal InvokeModel request is known for its family ({}); the call was not made",
                m.id, m.family
            )
        })
}

/// The real call, when it is to be made.
pub(super) async fn real_call(
    runtime: &aws_sdk_bedrockruntime::Client,
    w: &Wanted<'_>,
    make: bool,
) -> Option<Result<(String, u128), (String, CallError)>> {
    if make {
        Some(the_call(runtime, w).await)
    } else {
        None
    }
}

/// The real call's outcome, its refusal explained (with no gate when the service did not
/// answer).
pub(super) fn call_outcome(
    call: Option<Result<(String, u128), (String, CallError)>>,
    skip: Option<String>,
    principal: Option<String>,
    region: &str,
    w: &Wanted<'_>,
) -> Call {
    let (operation, e) = match call {
        None => return Call::Skipped(skip.unwrap_or_else(|| "--no-invoke".into())),
        Some(Ok((operation, millis))) => return Call::Succeeded { operation, millis },
        Some(Err(failed)) => failed,
    };
    let hints = explain::Hints {
        principal,
        region: Some(region.to_string()),
        model: Some(w.identifier.clone()),
    };
    let ex = e.explain(&operation, &hints);
    let explanation = if e.service {
        ex
    } else {
        // no answer from the service: nothing to map to a gate
        Explanation { gate: None, ..ex }
    };
    Call::Failed {
        operation,
        explanation: Box::new(explanation),
        raw: e.text(),
    }
}
