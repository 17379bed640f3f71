//! Images and documents for an upstream: their media types, and which documents an upstream
//! can read.
//!
//! Converse sends both as bytes (base64 on the wire); the normalized prompt keeps that base64
//! text as received, so forwarding it never decodes and re-encodes an image. Text documents
//! (`txt`, `md`, `csv`, `html`) are sent to OpenAI-compatible and Anthropic upstreams as text,
//! `pdf` as a file; `doc`, `docx`, `xls` and `xlsx` have no form in either API and are refused
//! before the upstream is called (the `bedrock` kind forwards every format unchanged).

use crate::{BackendError, Block, Prompt};

/// The media type of a Converse image format.
pub fn image_media_type(format: &str) -> String {
    format!("image/{format}")
}

/// Whether a document format is text the upstream can take as text.
pub fn is_text_document(format: &str) -> bool {
    matches!(format, "txt" | "md" | "csv" | "html")
}

/// A text document's bytes (base64) as text; invalid UTF-8 is replaced.
pub fn document_text(data: &str) -> String {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(data.as_bytes())
        .unwrap_or_default();
    String::from_utf8_lossy(&raw).into_owned()
}

/// The ValidationException for a document an OpenAI-compatible or Anthropic upstream cannot
/// read. AWS has no text for this (Bedrock itself reads these formats); ours names the format.
pub fn unreadable_document(prompt: &Prompt) -> Result<(), BackendError> {
    let blocks = prompt.messages.iter().flat_map(|m| m.content.iter());
    for b in blocks {
        if let Block::Document {
            format: Some(f),
            data: Some(_),
            ..
        } = b
        {
            if f != "pdf" && !is_text_document(f) {
                return Err(BackendError::Validation(format!(
                    "The upstream model of this bedrock-gates backend can't read {f} documents. \
                     Send pdf, csv, html, md or txt documents and try again."
                )));
            }
        }
    }
    Ok(())
}
