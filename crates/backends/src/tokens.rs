//! The approximate tokenizer behind every usage number.

use crate::{Block, Prompt};

/// Approximate token count of `text`.
///
/// **Rule:** split `text` on Unicode whitespace; each word costs
/// `ceil(chars / 4)` tokens, where `chars` counts Unicode scalar values — so
/// every word costs at least 1. The empty or all-whitespace string costs 0.
/// Deterministic and independent of the model.
///
/// Examples: `"Hi there"` → 1 + 2 = 3, `"Hello world"` → 4,
/// `"internationalization"` (20 chars) → 5, `"{\"a\":1}"` (7 chars) → 2.
pub fn count_tokens(text: &str) -> u32 {
    if text.is_ascii() {
        return count_ascii_tokens(text.as_bytes());
    }
    text.split_whitespace()
        .fold(0u32, |acc, w| acc.saturating_add(word_tokens(w)))
}

/// [`count_tokens`] of ASCII text, one pass over its bytes (each byte a char); the whitespace
/// is `split_whitespace`'s within ASCII, vertical tab included.
fn count_ascii_tokens(text: &[u8]) -> u32 {
    let mut tokens = 0u32;
    let mut word = 0usize;
    for &b in text {
        if matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ') {
            tokens = tokens.saturating_add(word_len_tokens(word));
            word = 0;
        } else {
            word += 1;
        }
    }
    tokens.saturating_add(word_len_tokens(word))
}

fn word_len_tokens(chars: usize) -> u32 {
    u32::try_from(chars.div_ceil(4)).unwrap_or(u32::MAX)
}

fn word_tokens(word: &str) -> u32 {
    word_len_tokens(word.chars().count())
}

/// Tokens charged for an image of `bytes_len` decoded bytes: `max(1, ceil(bytes_len / 750))`.
pub(crate) fn image_tokens(bytes_len: usize) -> u32 {
    u32::try_from(bytes_len.div_ceil(750).max(1)).unwrap_or(u32::MAX)
}

/// Tokens of one block, by [`count_tokens`]:
/// text and reasoning → their text; tool use → name + compact input JSON;
/// tool result → the sum of its content blocks; image → `max(1, ceil(bytes/750))`;
/// document → name + text.
pub(crate) fn block_tokens(block: &Block) -> u32 {
    match block {
        Block::Text(t) | Block::Reasoning(t) => count_tokens(t),
        Block::ToolUse { name, input, .. } => {
            count_tokens(name).saturating_add(count_tokens(&input.to_string()))
        }
        Block::ToolResult { content, .. } => content
            .iter()
            .fold(0u32, |acc, b| acc.saturating_add(block_tokens(b))),
        Block::Image { bytes_len, .. } => image_tokens(*bytes_len),
        Block::Document { name, text, .. } => count_tokens(name).saturating_add(count_tokens(text)),
    }
}

/// Input tokens of a prompt.
///
/// **Rule:** the sum of [`count_tokens`] over every system prompt, every
/// block of every message (text and reasoning: the text; tool use: name +
/// compact JSON of the input; tool result: its content blocks; image:
/// `max(1, ceil(decoded bytes / 750))`; document: name + text), and every tool
/// spec (name + description + compact JSON of the input schema). No per-message
/// overhead is added, so a single user text `"Hello world"` costs exactly 4.
pub fn count_prompt_tokens(prompt: &Prompt) -> u32 {
    let mut n = 0u32;
    for s in &prompt.system {
        n = n.saturating_add(count_tokens(s));
    }
    for m in &prompt.messages {
        for b in &m.content {
            n = n.saturating_add(block_tokens(b));
        }
    }
    for t in &prompt.tools {
        n = n.saturating_add(count_tokens(&t.name));
        if let Some(d) = &t.description {
            n = n.saturating_add(count_tokens(d));
        }
        n = n.saturating_add(count_tokens(&t.input_schema.to_string()));
    }
    n
}

/// Cut `text` so that `count_tokens(result) <= max`.
///
/// Returns `None` when `text` already fits. Otherwise keeps whole words while
/// they fit; the first word that does not fit is cut to the `4 × remaining`
/// characters that still fit (so the result costs exactly `max` tokens when
/// `max > 0`). Trailing whitespace before a dropped word is removed.
pub fn truncate_to_tokens(text: &str, max: u32) -> Option<String> {
    if count_tokens(text) <= max {
        return None;
    }
    let mut used = 0u32;
    let mut iter = text.char_indices().peekable();
    loop {
        // skip whitespace
        while let Some(&(_, c)) = iter.peek() {
            if c.is_whitespace() {
                iter.next();
            } else {
                break;
            }
        }
        let Some(&(start, _)) = iter.peek() else {
            return Some(text.to_string());
        };
        let mut end = text.len();
        while let Some(&(i, c)) = iter.peek() {
            if c.is_whitespace() {
                end = i;
                break;
            }
            iter.next();
        }
        let word = &text[start..end];
        let cost = word_tokens(word);
        if used.saturating_add(cost) > max {
            let remaining = (max - used) as usize;
            if remaining == 0 {
                return Some(text[..start].trim_end().to_string());
            }
            let keep_chars = remaining * 4;
            let cut = word
                .char_indices()
                .nth(keep_chars)
                .map(|(i, _)| start + i)
                .unwrap_or(end);
            return Some(text[..cut].to_string());
        }
        used += cost;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        assert_eq!(count_tokens(""), 0);
        assert_eq!(count_tokens("   \n\t"), 0);
        assert_eq!(count_tokens("Hello world"), 4);
        assert_eq!(count_tokens("Hi there"), 3);
        assert_eq!(count_tokens("{\"a\":1}"), 2);
        assert_eq!(count_tokens("internationalization"), 5);
        assert_eq!(count_tokens("a b c"), 3);
        assert_eq!(count_tokens("abcd abcde"), 3);
        assert_eq!(count_tokens("héllo"), 2);
    }

    /// The ASCII pass counts what the general one counts, on every ASCII whitespace and
    /// control byte (vertical tab and form feed split words; the separators 0x1C-0x1F do not).
    #[test]
    fn ascii_pass_counts_as_the_general_one() {
        let general = |t: &str| {
            t.split_whitespace()
                .fold(0u32, |acc, w| acc.saturating_add(word_tokens(w)))
        };
        let mut texts: Vec<String> = vec![
            "Tell me about the gates of Bedrock".into(),
            " lead and trail  ".into(),
            "internationalization {\"a\":1}".into(),
        ];
        for b in 0u8..0x80 {
            texts.push(format!("abcde{}fghij{}k", b as char, b as char));
        }
        for t in &texts {
            assert!(t.is_ascii());
            assert_eq!(count_tokens(t), general(t), "{t:?}");
        }
        assert_eq!(count_tokens("abcde\x0bfghij"), 4);
        assert_eq!(count_tokens("abcde\x1cfghij"), 3);
        assert_eq!(count_tokens("héllo wörld"), 4);
    }

    #[test]
    fn truncation() {
        assert_eq!(truncate_to_tokens("one two three", 5), None);
        assert_eq!(truncate_to_tokens("one two three", 2).unwrap(), "one two");
        let t = truncate_to_tokens("a internationalization", 3).unwrap();
        assert_eq!(t, "a internat");
        assert_eq!(count_tokens(&t), 3);
        assert_eq!(truncate_to_tokens("hello world", 0).unwrap(), "");
        let long = "The quick brown fox jumps over the lazy dog again and again";
        for max in 0..count_tokens(long) {
            let t = truncate_to_tokens(long, max).unwrap();
            assert_eq!(count_tokens(&t), max, "{max}: {t}");
            assert!(long.starts_with(&t));
        }
    }
}
