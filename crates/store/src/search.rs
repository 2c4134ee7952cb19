//! Full-text search: what is indexed of an update, and a person's query made
//! safe for FTS5. The index is a projection written in the same transaction
//! as the events, rebuilt by `reindex`.

use rusqlite::{Transaction, params};
use serde_json::Value;
use viewport_protocol::SessionUpdate;
use viewport_protocol::update::SystemStatus;

use crate::Result;
use crate::error::SqlContext;

/// The text of an update that search finds: whole messages, a tool call's
/// title and the strings of its input, a plan's entries, a session's title. Chunks are not
/// indexed: the whole message is.
pub fn indexable_text(update: &SessionUpdate) -> Option<String> {
    match update {
        SessionUpdate::AgentMessage(m) | SessionUpdate::UserMessage(m) => Some(m.text.clone()),
        SessionUpdate::ToolCall(call) => {
            let mut text = call.title.clone();
            if let Some(input) = &call.raw_input {
                collect_strings(input, &mut text);
            }
            Some(text)
        }
        SessionUpdate::SystemStatus(SystemStatus::Title { title }) => Some(title.clone()),
        SessionUpdate::SystemStatus(SystemStatus::Plan { entries }) => Some(
            entries
                .iter()
                .map(|e| e.content.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        _ => None,
    }
    .filter(|text| !text.trim().is_empty())
}

fn collect_strings(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => {
            out.push('\n');
            out.push_str(s);
        }
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// Index an update, if it has text worth finding.
pub(crate) fn index(
    tx: &Transaction<'_>,
    session_id: &str,
    seq: u64,
    update: &SessionUpdate,
) -> Result<()> {
    let Some(text) = indexable_text(update) else {
        return Ok(());
    };
    tx.prepare_cached("INSERT INTO search (text, session_id, seq, kind) VALUES (?1, ?2, ?3, ?4)")
        .during("preparing the search insert")?
        .execute(params![text, session_id, seq, update.update_type()])
        .during("indexing an update")?;
    Ok(())
}

/// A person's query as an FTS5 query that cannot be a syntax error: each
/// word is a quoted phrase (so `"`, `(`, `NEAR`, `AND` are just words), all
/// must match, and a word ending in `*` matches as a prefix.
pub fn fts_query(query: &str) -> std::result::Result<String, String> {
    let terms: Vec<String> = query
        .split_whitespace()
        .filter_map(|word| {
            let (stem, prefix) = match word.strip_suffix('*') {
                Some(stem) => (stem.trim_end_matches('*'), true),
                None => (word, false),
            };
            let cleaned: String = stem.chars().filter(|c| !c.is_control()).collect();
            // A word of only punctuation matches nothing the tokenizer keeps.
            if !cleaned.chars().any(char::is_alphanumeric) {
                return None;
            }
            let quoted = format!("\"{}\"", cleaned.replace('"', "\"\""));
            Some(if prefix { quoted + "*" } else { quoted })
        })
        .collect();
    if terms.is_empty() {
        return Err(if query.trim().is_empty() {
            "the search query is empty; give one or more words".to_owned()
        } else {
            format!("`{query}` has no words to search for")
        });
    }
    Ok(terms.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_never_carry_fts_syntax() {
        assert_eq!(fts_query("fix the bug").unwrap(), r#""fix" "the" "bug""#);
        assert_eq!(fts_query(r#"say "hi""#).unwrap(), r#""say" """hi""""#);
        assert_eq!(fts_query("refact*").unwrap(), r#""refact"*"#);
        assert_eq!(fts_query("a NEAR b").unwrap(), r#""a" "NEAR" "b""#);
        assert!(fts_query("   ").unwrap_err().contains("empty"));
        assert!(fts_query("* ( )").is_err());
    }
}
