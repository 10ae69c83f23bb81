//! A small YAML tree for importers: scalars kept as written (Gatus reads `name: 007` as the
//! text "007", not the number 7), a line on every node so warnings can point at it, and merge
//! keys (`<<: *defaults`) applied, because shared endpoint defaults are a common Gatus idiom
//! that YAML 1.2 parsers leave to the application.

use std::borrow::Cow;

use saphyr::{MarkedYaml, Scalar, ScalarStyle, YamlData, YamlLoader};

/// A YAML node with its line (1-based): where it starts, or for a mapping's value, where
/// its key is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub line: usize,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// `~`, `null` or nothing at all.
    Null,
    /// Any scalar, as text; `quoted` tells `"true"` from `true`.
    Scalar {
        text: String,
        quoted: bool,
    },
    Seq(Vec<Node>),
    /// Entries in document order, merge keys already applied.
    Map(Vec<(String, Node)>),
}

/// Where and why the text is not YAML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub message: String,
}

/// The parsed documents of `text`, first to last.
pub(crate) fn parse(text: &str) -> Result<Vec<Node>, SyntaxError> {
    let mut parser = saphyr_parser::Parser::new_from_str(text);
    let mut loader: YamlLoader<'_, MarkedYaml<'_>> = YamlLoader::default();
    // Scalars stay as written: the importer decides what a value means from the key it is under.
    loader.early_parse(false);
    let scan = |e: &saphyr::ScanError| SyntaxError {
        line: e.marker().line(),
        column: e.marker().col() + 1,
        message: e.info().to_owned(),
    };
    parser.load(&mut loader, true).map_err(|e| scan(&e))?;
    if let Some(e) = loader.error() {
        return Err(scan(e));
    }
    loader.into_documents().iter().map(convert).collect()
}

fn convert(node: &MarkedYaml<'_>) -> Result<Node, SyntaxError> {
    let line = node.span.start.line();
    let value = match &node.data {
        YamlData::Representation(text, style, tag) => {
            let quoted = !matches!(style, ScalarStyle::Plain)
                || tag.as_ref().is_some_and(|t| t.suffix == "str");
            if !quoted && matches!(text.as_ref(), "" | "~" | "null" | "Null" | "NULL") {
                Value::Null
            } else {
                Value::Scalar {
                    text: text.to_string(),
                    quoted,
                }
            }
        }
        YamlData::Value(scalar) => scalar_value(scalar),
        YamlData::Sequence(items) => {
            Value::Seq(items.iter().map(convert).collect::<Result<_, _>>()?)
        }
        YamlData::Mapping(entries) => {
            let mut explicit: Vec<(String, Node)> = Vec::new();
            let mut merged: Vec<(String, Node)> = Vec::new();
            for (key, value) in entries {
                let name = key_text(key)?;
                let mut value = convert(value)?;
                // A nested mapping starts on the line after its key; messages should point
                // at the key, where the user looks.
                value.line = key.span.start.line();
                if name == "<<" {
                    merge_into(&mut merged, value)?;
                } else {
                    explicit.push((name, value));
                }
            }
            for (name, value) in merged {
                if !explicit.iter().any(|(k, _)| *k == name) {
                    explicit.push((name, value));
                }
            }
            Value::Map(explicit)
        }
        YamlData::Tagged(_, inner) => return convert(inner),
        YamlData::Alias(_) | YamlData::BadValue => Value::Null,
    };
    Ok(Node { line, value })
}

fn scalar_value(scalar: &Scalar<'_>) -> Value {
    let text: Cow<'_, str> = match scalar {
        Scalar::Null => return Value::Null,
        Scalar::String(s) => Cow::Borrowed(s.as_ref()),
        Scalar::Boolean(b) => Cow::Owned(b.to_string()),
        Scalar::Integer(i) => Cow::Owned(i.to_string()),
        Scalar::FloatingPoint(f) => Cow::Owned(f.to_string()),
    };
    Value::Scalar {
        text: text.into_owned(),
        quoted: matches!(scalar, Scalar::String(_)),
    }
}

fn key_text(key: &MarkedYaml<'_>) -> Result<String, SyntaxError> {
    match &key.data {
        YamlData::Representation(text, _, _) => Ok(text.to_string()),
        YamlData::Value(scalar) => match scalar_value(scalar) {
            Value::Scalar { text, .. } => Ok(text),
            _ => Ok(String::new()),
        },
        YamlData::Tagged(_, inner) => key_text(inner),
        _ => Err(SyntaxError {
            line: key.span.start.line(),
            column: key.span.start.col() + 1,
            message: "a mapping key must be plain text".to_owned(),
        }),
    }
}

/// `<<: *a` or `<<: [*a, *b]`: keys from earlier maps win over later ones, and keys written
/// in the mapping itself win over all of them (YAML merge key semantics, as Gatus' parser does).
fn merge_into(merged: &mut Vec<(String, Node)>, source: Node) -> Result<(), SyntaxError> {
    let maps = match source.value {
        Value::Map(entries) => vec![entries],
        Value::Seq(items) => items
            .into_iter()
            .map(|item| match item.value {
                Value::Map(entries) => Ok(entries),
                _ => Err(merge_error(item.line)),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(merge_error(source.line)),
    };
    for entries in maps {
        for (name, value) in entries {
            if !merged.iter().any(|(k, _)| *k == name) {
                merged.push((name, value));
            }
        }
    }
    Ok(())
}

fn merge_error(line: usize) -> SyntaxError {
    SyntaxError {
        line,
        column: 1,
        message: "`<<` must merge a mapping or a list of mappings".to_owned(),
    }
}

impl Node {
    pub fn as_map(&self) -> Option<&[(String, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// The scalar's text; `None` for null, lists and mappings.
    pub fn text(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// What kind of value this is, for messages such as "expected text, found a list".
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "nothing",
            Value::Scalar { .. } => "a single value",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        parse(text).expect("valid YAML").remove(0)
    }

    #[test]
    fn scalars_keep_the_text_as_written() {
        let doc = one("a: 007\nb: 1.10\nc: 'true'\nd: true\ne:\nf: ~\n");
        let text = |k: &str| doc.get(k).and_then(Node::text).map(str::to_owned);
        assert_eq!(text("a").as_deref(), Some("007"));
        assert_eq!(text("b").as_deref(), Some("1.10"));
        assert_eq!(text("c").as_deref(), Some("true"));
        assert!(matches!(
            doc.get("c").map(|n| &n.value),
            Some(Value::Scalar { quoted: true, .. })
        ));
        assert!(matches!(
            doc.get("d").map(|n| &n.value),
            Some(Value::Scalar { quoted: false, .. })
        ));
        assert!(doc.get("e").is_some_and(Node::is_null));
        assert!(doc.get("f").is_some_and(Node::is_null));
    }

    #[test]
    fn merge_keys_fill_in_what_the_mapping_does_not_say() {
        let doc = one(
            "base: &base\n  interval: 5m\n  method: GET\nother: &other\n  method: HEAD\n  body: x\n\
             e:\n  <<: [*base, *other]\n  method: POST\n",
        );
        let e = doc.get("e").expect("e");
        let keys: Vec<_> = e
            .as_map()
            .expect("map")
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(keys, ["method", "interval", "body"]);
        assert_eq!(e.get("method").and_then(Node::text), Some("POST"));
        assert_eq!(e.get("interval").and_then(Node::text), Some("5m"));
    }

    #[test]
    fn nodes_know_their_line() {
        let doc = one("endpoints:\n  - name: a\n\n  - name: b\n");
        let Some(Value::Seq(items)) = doc.get("endpoints").map(|n| &n.value) else {
            panic!("a list");
        };
        assert_eq!(items.iter().map(|n| n.line).collect::<Vec<_>>(), [2, 4]);
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let e = parse("a: 1\nb: [1, 2\nc: 3\n").expect_err("unclosed");
        assert!(e.line >= 2, "{e:?}");
        let e = parse("a: 1\na: 2\n").expect_err("duplicate");
        assert_eq!((e.line, e.column), (2, 1), "{e:?}");
    }
}
