//! A small YAML tree for importers: scalars kept as written (Gatus reads `name: 007` as the
//! text "007", not the number 7), a line on every node so warnings can point at it, and merge
//! keys (`<<: *defaults`) applied, because shared endpoint defaults are a common Gatus idiom
//! that YAML 1.2 parsers leave to the application.
//!
//! The tree is built and walked recursively, and aliases are copied where they are used, so
//! a document is refused before it reaches the loader when it nests deeper than
//! [`MAX_DEPTH`] or expands to more than [`MAX_NODES`] values: a hostile or broken file gets a
//! clear error, not a stack overflow or an exhausted memory.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr::{MarkedYaml, Scalar, ScalarStyle, YamlData, YamlLoader};
use saphyr_parser::{Event, Span, SpannedEventReceiver};

/// How deep lists, mappings and the aliases in them may nest. Gatus files are a handful of
/// levels deep; this is far beyond any real one, and far below what the stack can take.
pub(crate) const MAX_DEPTH: usize = 128;
/// How many values a document may hold once its aliases are copied in (`<<: *defaults` is one
/// copy per use): a "billion laughs" of nested aliases stops here.
pub(crate) const MAX_NODES: usize = 1_000_000;

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
    let parser = saphyr_parser::Parser::new_from_str(text);
    let mut loader: YamlLoader<'_, MarkedYaml<'_>> = YamlLoader::default();
    // Scalars stay as written: the importer decides what a value means from the key it is under.
    loader.early_parse(false);
    let mut guarded = Bounded::new(loader);
    let scan = |e: &saphyr::ScanError| SyntaxError {
        line: e.marker().line(),
        column: e.marker().col() + 1,
        message: e.info().to_owned(),
    };
    // Event by event rather than `Parser::load`, which recurses once per level of nesting.
    for next in parser {
        let (event, span) = next.map_err(|e| scan(&e))?;
        guarded.on_event(event, span);
        if let Some(e) = guarded.error.take() {
            return Err(e);
        }
    }
    if let Some(e) = guarded.loader.error() {
        return Err(scan(e));
    }
    guarded
        .loader
        .into_documents()
        .iter()
        .map(convert)
        .collect()
}

/// Passes the parser's events on to the loader while the document stays within
/// [`MAX_DEPTH`] and [`MAX_NODES`]; past either, it records where and passes nothing more.
struct Bounded<'input> {
    loader: YamlLoader<'input, MarkedYaml<'input>>,
    /// The lists and mappings open around the current event.
    open: Vec<Open>,
    /// Per anchor: how deep the anchored value goes below itself and how many values it holds,
    /// which is what an alias to it adds where it is used.
    anchors: HashMap<usize, (usize, usize)>,
    /// Values so far, aliases counted as the copies they become.
    nodes: usize,
    error: Option<SyntaxError>,
}

/// An open list or mapping: its anchor, how many collections deep it goes (itself included)
/// and how many values it holds, so far.
struct Open {
    anchor: usize,
    height: usize,
    size: usize,
}

impl<'input> Bounded<'input> {
    fn new(loader: YamlLoader<'input, MarkedYaml<'input>>) -> Self {
        Bounded {
            loader,
            open: Vec::new(),
            anchors: HashMap::new(),
            nodes: 0,
            error: None,
        }
    }

    /// Counts a finished value `height` collections deep holding `size` values into the
    /// collection around it; `false` (with the error recorded) once a limit is passed.
    fn add(&mut self, height: usize, size: usize, anchor: usize, span: Span) -> bool {
        if anchor > 0 {
            self.anchors.insert(anchor, (height, size));
        }
        self.nodes = self.nodes.saturating_add(size);
        if self.open.len() + height > MAX_DEPTH {
            return self.too_deep(span);
        }
        if self.nodes > MAX_NODES {
            self.error = Some(syntax_error(
                span,
                format!("the document holds more than {MAX_NODES} values once its aliases are copied in; Foghorn reads no further"),
            ));
            return false;
        }
        if let Some(parent) = self.open.last_mut() {
            parent.height = parent.height.max(height + 1);
            parent.size = parent.size.saturating_add(size);
        }
        true
    }

    fn too_deep(&mut self, span: Span) -> bool {
        self.error = Some(syntax_error(
            span,
            format!("lists, mappings and aliases nest deeper than {MAX_DEPTH} levels here; Foghorn reads no further"),
        ));
        false
    }
}

fn syntax_error(span: Span, message: String) -> SyntaxError {
    SyntaxError {
        line: span.start.line(),
        column: span.start.col() + 1,
        message,
    }
}

impl<'input> SpannedEventReceiver<'input> for Bounded<'input> {
    fn on_event(&mut self, ev: Event<'input>, span: Span) {
        if self.error.is_some() {
            return;
        }
        let within = match &ev {
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                // Refused before the loader opens it.
                if self.open.len() >= MAX_DEPTH {
                    self.too_deep(span)
                } else {
                    self.open.push(Open {
                        anchor: *anchor,
                        height: 1,
                        size: 0,
                    });
                    true
                }
            }
            Event::SequenceEnd | Event::MappingEnd => match self.open.pop() {
                Some(done) => self.add(done.height, done.size + 1, done.anchor, span),
                None => true,
            },
            Event::Scalar(_, _, anchor, _) => self.add(0, 1, *anchor, span),
            Event::Alias(anchor) => {
                let (height, size) = self.anchors.get(anchor).copied().unwrap_or((0, 1));
                self.add(height, size, 0, span)
            }
            _ => true,
        };
        if within {
            self.loader.on_event(ev, span);
        }
    }
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
