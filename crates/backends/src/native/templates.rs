//! Recovering a conversation from raw prompt strings (Llama 2/3, Mistral
//! `[INST]`, DeepSeek R1 templates).

use crate::{Message, Role};

/// System prompts and messages recovered from a raw prompt.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Parsed {
    pub system: Vec<String>,
    pub messages: Vec<Message>,
}

impl Parsed {
    fn push(&mut self, role: Role, text: &str) {
        let text = text.trim();
        if !text.is_empty() {
            self.messages.push(Message {
                role,
                content: vec![crate::Block::Text(text.to_string())],
            });
        }
    }

    fn push_system(&mut self, text: &str) {
        let text = text.trim();
        if !text.is_empty() {
            self.system.push(text.to_string());
        }
    }
}

/// The whole prompt as one user message.
pub(crate) fn plain(prompt: &str) -> Parsed {
    let mut p = Parsed::default();
    p.push(Role::User, prompt);
    p
}

/// Llama 3 header template, else Llama 2 `[INST]`, else plain text.
///
/// Llama 3: `<|begin_of_text|><|start_header_id|>ROLE<|end_header_id|>\n\nTEXT<|eot_id|>...`;
/// roles `system` → system prompt, `user`/`ipython`/`tool` → user, `assistant` →
/// assistant (the empty trailing assistant header is the generation prompt).
pub(crate) fn parse_llama(prompt: &str) -> Parsed {
    if prompt.contains("<|start_header_id|>") {
        parse_llama3(prompt)
    } else if prompt.contains("[INST]") {
        parse_inst(prompt)
    } else {
        plain(&prompt.replace("<|begin_of_text|>", ""))
    }
}

fn parse_llama3(prompt: &str) -> Parsed {
    let mut out = Parsed::default();
    let prompt = prompt.replace("<|begin_of_text|>", "");
    let mut segments = prompt.split("<|start_header_id|>");
    if let Some(before) = segments.next() {
        out.push(Role::User, before);
    }
    for seg in segments {
        let Some((role, rest)) = seg.split_once("<|end_header_id|>") else {
            out.push(Role::User, seg);
            continue;
        };
        let end = ["<|eot_id|>", "<|eom_id|>", "<|end_of_text|>"]
            .iter()
            .filter_map(|t| rest.find(t))
            .min()
            .unwrap_or(rest.len());
        let content = &rest[..end];
        match role.trim() {
            "system" => out.push_system(content),
            "assistant" => out.push(Role::Assistant, content),
            _ => out.push(Role::User, content),
        }
    }
    out
}

/// Mistral / Llama 2 `<s>[INST] user [/INST] answer</s>[INST] ... [/INST]`;
/// `<<SYS>>...<</SYS>>` and `[SYSTEM_PROMPT]...[/SYSTEM_PROMPT]` become system prompts.
pub(crate) fn parse_inst(prompt: &str) -> Parsed {
    let mut out = Parsed::default();
    let mut s = prompt.replace("<s>", "").replace("</s>", "");
    for (open, close) in [
        ("<<SYS>>", "<</SYS>>"),
        ("[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]"),
    ] {
        while let Some(start) = s.find(open) {
            let after = start + open.len();
            let end = s[after..].find(close).map(|e| after + e);
            match end {
                Some(e) => {
                    out.push_system(&s[after..e]);
                    s.replace_range(start..e + close.len(), "");
                }
                None => {
                    out.push_system(&s[after..]);
                    s.truncate(start);
                }
            }
        }
    }
    let mut parts = s.split("[INST]");
    if let Some(first) = parts.next() {
        out.push(Role::User, first);
    }
    for part in parts {
        let (user, answer) = part.split_once("[/INST]").unwrap_or((part, ""));
        out.push(Role::User, user);
        out.push(Role::Assistant, answer);
    }
    out
}

const DS_BOS: &str = "<\u{ff5c}begin\u{2581}of\u{2581}sentence\u{ff5c}>";
const DS_EOS: &str = "<\u{ff5c}end\u{2581}of\u{2581}sentence\u{ff5c}>";
const DS_USER: &str = "<\u{ff5c}User\u{ff5c}>";
const DS_ASSISTANT: &str = "<\u{ff5c}Assistant\u{ff5c}>";

/// DeepSeek R1: `<｜begin▁of▁sentence｜>SYSTEM<｜User｜>Q<｜Assistant｜>A<｜end▁of▁sentence｜>...`
/// (ASCII `|` and `_` spellings accepted too); `<think>…</think>` sections are dropped.
pub(crate) fn parse_deepseek(prompt: &str) -> Parsed {
    let s = prompt
        .replace("<|begin_of_sentence|>", DS_BOS)
        .replace("<|end_of_sentence|>", DS_EOS)
        .replace("<|User|>", DS_USER)
        .replace("<|Assistant|>", DS_ASSISTANT)
        .replace(DS_BOS, "");
    if !s.contains(DS_USER) {
        return plain(&strip_think(
            &s.replace(DS_EOS, "").replace(DS_ASSISTANT, ""),
        ));
    }
    let mut out = Parsed::default();
    let mut parts = s.split(DS_USER);
    if let Some(first) = parts.next() {
        out.push_system(first);
    }
    for part in parts {
        let (user, answer) = part.split_once(DS_ASSISTANT).unwrap_or((part, ""));
        out.push(Role::User, &user.replace(DS_EOS, ""));
        out.push(Role::Assistant, &strip_think(&answer.replace(DS_EOS, "")));
    }
    out
}

/// Remove `<think>…</think>` sections and stray `<think>` / `</think>` tags.
fn strip_think(s: &str) -> String {
    let mut out = s.to_string();
    while let Some(start) = out.find("<think>") {
        match out[start..].find("</think>") {
            Some(e) => out.replace_range(start..start + e + "</think>".len(), ""),
            None => out.replace_range(start..start + "<think>".len(), ""),
        }
    }
    out.replace("</think>", "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(p: &Parsed) -> Vec<(Role, String)> {
        p.messages.iter().map(|m| (m.role, m.text())).collect()
    }

    #[test]
    fn llama3() {
        let p = parse_llama(
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe nice.<|eot_id|>\
             <|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>\
             <|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>\
             <|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>\
             <|start_header_id|>assistant<|end_header_id|>\n\n",
        );
        assert_eq!(p.system, vec!["Be nice."]);
        assert_eq!(
            texts(&p),
            vec![
                (Role::User, "Hi there".into()),
                (Role::Assistant, "Hello!".into()),
                (Role::User, "What is 2+2?".into())
            ]
        );
        assert_eq!(
            texts(&parse_llama("  just text ")),
            vec![(Role::User, "just text".into())]
        );
    }

    #[test]
    fn inst() {
        let p = parse_inst(
            "<s>[INST] <<SYS>>\nsys\n<</SYS>>\n\nWhat is your favourite condiment? [/INST] Lemon.</s>[INST] Mayo recipes? [/INST]",
        );
        assert_eq!(p.system, vec!["sys"]);
        assert_eq!(
            texts(&p),
            vec![
                (Role::User, "What is your favourite condiment?".into()),
                (Role::Assistant, "Lemon.".into()),
                (Role::User, "Mayo recipes?".into())
            ]
        );
    }

    #[test]
    fn deepseek() {
        let p = parse_deepseek(
            "<\u{ff5c}begin\u{2581}of\u{2581}sentence\u{ff5c}>You are helpful.<\u{ff5c}User\u{ff5c}>Why is the sky blue?<\u{ff5c}Assistant\u{ff5c}><think>\n",
        );
        assert_eq!(p.system, vec!["You are helpful."]);
        assert_eq!(texts(&p), vec![(Role::User, "Why is the sky blue?".into())]);
        let p = parse_deepseek(
            "<|User|>a<|Assistant|><think>x</think>b<|end_of_sentence|><|User|>c<|Assistant|>",
        );
        assert_eq!(
            texts(&p),
            vec![
                (Role::User, "a".into()),
                (Role::Assistant, "b".into()),
                (Role::User, "c".into())
            ]
        );
        assert_eq!(
            texts(&parse_deepseek("plain")),
            vec![(Role::User, "plain".into())]
        );
    }
}
