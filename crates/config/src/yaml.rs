//! YAML read into a tree that remembers where each node is, within limits a
//! hostile file cannot get around: a size cap before parsing, and caps on
//! aliases, nesting and nodes while parsing (an alias bomb stops at the cap
//! instead of expanding).

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_saphyr::{Budget, DuplicateKeyPolicy, Options, Spanned};

/// Config files larger than this are refused before they are parsed.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;
/// Most aliases (`*name`) one file may use.
pub const MAX_ALIASES: usize = 100;
/// Deepest nesting of collections.
pub const MAX_DEPTH: usize = 32;
/// Most nodes, aliases expanded.
pub const MAX_NODES: usize = 50_000;

/// A place in a file, 1-based.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// A YAML node and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub at: Location,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in file order, duplicates kept so they can be reported.
    Map(Vec<(Key, Node)>),
}

/// A mapping key and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub at: Location,
}

impl Value {
    /// What a node is, in words, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Null => "nothing",
            Self::Bool(_) => "a boolean",
            Self::Int(_) | Self::UInt(_) => "an integer",
            Self::Float(_) => "a number",
            Self::Str(_) => "a string",
            Self::Seq(_) => "a list",
            Self::Map(_) => "a mapping",
        }
    }
}

impl Node {
    /// The node as JSON, for typed deserialization; duplicate keys keep the
    /// last value (they are reported separately).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::UInt(u) => J::from(*u),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(key, node)| (key.name.clone(), node.to_json()))
                    .collect(),
            ),
        }
    }

    /// The node at a path of keys and indexes below this one, and where
    /// the last key is (for errors about the key itself).
    pub fn find(&self, path: &[PathStep]) -> Option<(&Node, Option<Location>)> {
        let mut node = self;
        let mut key_at = None;
        for step in path {
            match (step, &node.value) {
                (PathStep::Key(name), Value::Map(entries)) => {
                    let (key, value) = entries.iter().rev().find(|(k, _)| &k.name == name)?;
                    key_at = Some(key.at);
                    node = value;
                }
                (PathStep::Index(i), Value::Seq(items)) => {
                    node = items.get(*i)?;
                    key_at = None;
                }
                _ => return None,
            }
        }
        Some((node, key_at))
    }
}

/// One step of a path into a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

/// Why a text could not be read as YAML.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub at: Option<Location>,
    pub message: String,
}

/// Parse YAML text into a tree, within the limits.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(SyntaxError {
            at: None,
            message: format!(
                "the file is {} bytes; config files may be at most {MAX_FILE_BYTES}",
                text.len()
            ),
        });
    }
    let mut budget = Budget::default();
    budget.max_aliases = MAX_ALIASES;
    budget.max_depth = MAX_DEPTH;
    budget.max_nodes = MAX_NODES;
    budget.max_documents = 1;
    let mut options = Options::default();
    options.budget = Some(budget);
    // The checker reports every duplicate, not only the first.
    options.duplicate_keys = DuplicateKeyPolicy::PassThrough;
    if text.trim().is_empty() {
        return Ok(Node {
            at: Location { line: 1, column: 1 },
            value: Value::Map(Vec::new()),
        });
    }
    serde_saphyr::from_str_with_options::<Node>(text, options).map_err(|e| syntax_error(&e))
}

fn syntax_error(error: &serde_saphyr::Error) -> SyntaxError {
    let location = error.location().map(|l| Location {
        line: l.line() as usize,
        column: l.column() as usize,
    });
    // The library's text repeats the place; keep what follows it.
    let text = error.to_string();
    let first = text.lines().next().unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let message = first
        .split_once(": ")
        .filter(|(head, _)| head.starts_with("line "))
        .map_or(first, |(_, rest)| rest);
    let message = match message.strip_prefix("budget breached: ") {
        Some(detail) => format!(
            "refused: the file grows past vpd's limits ({MAX_ALIASES} aliases, {MAX_NODES} nodes, \
             {MAX_DEPTH} levels) once its aliases are expanded: {detail}"
        ),
        None => message.to_owned(),
    };
    SyntaxError {
        at: location.filter(|l| l.line > 0),
        message,
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Value>::deserialize(deserializer)?;
        Ok(Node {
            at: Location {
                line: spanned.referenced.line() as usize,
                column: spanned.referenced.column() as usize,
            },
            value: spanned.value,
        })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::UInt(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Value::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value = map.next_value::<Node>()?;
            let at = Location {
                line: key.referenced.line() as usize,
                column: key.referenced.column() as usize,
            };
            entries.push((
                Key {
                    name: key.value,
                    at,
                },
                value,
            ));
        }
        Ok(Value::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_and_keys_know_where_they_are() {
        let tree = parse("a:\n  b: [1, two]\n  c: {d: true}\n").unwrap();
        let path = [
            PathStep::Key("a".into()),
            PathStep::Key("b".into()),
            PathStep::Index(1),
        ];
        let (node, _) = tree.find(&path).unwrap();
        assert_eq!(node.value, Value::Str("two".into()));
        assert_eq!(
            node.at,
            Location {
                line: 2,
                column: 10
            }
        );
        let (_, key_at) = tree
            .find(&[PathStep::Key("a".into()), PathStep::Key("c".into())])
            .unwrap();
        assert_eq!(key_at, Some(Location { line: 3, column: 3 }));
    }

    #[test]
    fn duplicate_keys_are_kept_for_the_checker() {
        let tree = parse("x: 1\nx: 2\n");
        let Ok(Node {
            value: Value::Map(entries),
            ..
        }) = tree
        else {
            panic!("{tree:?}")
        };
        assert_eq!(entries.len(), 2);
    }

    #[test]
    fn an_alias_bomb_stops_at_the_cap() {
        let mut bomb = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for level in b'b'..=b'i' {
            let previous = (level - 1) as char;
            let level = level as char;
            let refs = vec![format!("*{previous}"); 9].join(",");
            bomb.push_str(&format!("{level}: &{level} [{refs}]\n"));
        }
        let error = parse(&bomb).unwrap_err();
        assert!(
            error.message.to_lowercase().contains("alias") || error.message.contains("budget"),
            "{error:?}"
        );
    }

    #[test]
    fn a_huge_file_is_refused_unread() {
        let error = parse(&"a".repeat(MAX_FILE_BYTES + 1)).unwrap_err();
        assert!(error.message.contains("at most"), "{error:?}");
    }
}
