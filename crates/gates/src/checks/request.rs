//! The model takes this request: the operation is one the model supports (Converse needs a chat
//! model, a response stream a streaming one, CountTokens a model that counts), and the body
//! reads for the model it is sent to. Not one of the five gates: a failure here is AWS's
//! ValidationException, with no gate shut.

use crate::decide::{AwsError, Call, GateCheck, InvokeKind, Operation, Refusal, Snapshot, Work};

pub const NOT_CHAT: &str =
    "This action doesn't support the model that you provided. Try again with a supported text or chat model.";
/// AWS's text for a model without streaming is not documented; this is Bedrock's usual wording
/// for an operation a model does not support.
pub const NO_STREAMING: &str = "The model is unsupported for streaming.";

pub struct ModelRequest;

impl GateCheck for ModelRequest {
    fn name(&self) -> &'static str {
        "request"
    }

    fn applies(&self, call: &Call, _: &Snapshot) -> Result<(), &'static str> {
        super::model_call(call)
    }

    fn check(&self, w: &mut Work) -> Result<(), Refusal> {
        let (Operation::Invoke(inv), Some(target)) = (&w.call.op, &w.plan.target) else {
            return Ok(());
        };
        let model = target.model;
        let unsupported = match inv.kind {
            InvokeKind::Converse | InvokeKind::ConverseStream if !model.converse => {
                Some(NOT_CHAT.to_string())
            }
            InvokeKind::InvokeModelWithResponseStream if !model.streaming => {
                Some(NO_STREAMING.to_string())
            }
            // AWS's wording for a model without CountTokens is not documented (bedrock-facts §1.3).
            InvokeKind::CountTokens if !model.count_tokens => Some(format!(
                "The provided model {} doesn't support counting tokens.",
                model.id
            )),
            _ => None,
        };
        if let Some(m) = unsupported {
            return Err(Refusal::Invalid(AwsError::validation(m)));
        }
        let tokens = inv.payload.input_tokens(model).map_err(Refusal::Invalid)?;
        w.plan.input_tokens = tokens;
        w.note(|| format!("{tokens} input tokens"));
        Ok(())
    }
}
