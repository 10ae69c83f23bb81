//! The small JSON path language of Gatus conditions: `.key` and `[index]` steps after
//! `[BODY]`, as in `[BODY].data.items[0].id` or `[BODY][0].name`.

use serde_json::Value;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Segment {
    Key(String),
    Index(usize),
}

/// Parses the path that follows `[BODY]`. `base` is the byte offset of `path` in the whole
/// condition, so errors point at the right character.
pub(super) fn parse(path: &str, base: usize) -> Result<Vec<Segment>, (usize, String)> {
    let mut segments = Vec::new();
    let mut i = 0;
    while let Some(c) = path[i..].chars().next() {
        match c {
            '.' => {
                let start = i + 1;
                // Parentheses are refused in keys so `len([BODY].a))` is caught as unbalanced.
                let end = path[start..]
                    .find(['.', '[', ']', '(', ')'])
                    .map_or(path.len(), |e| start + e);
                if start == end {
                    return Err((
                        base + i,
                        "empty key after `.`: write a key such as `[BODY].status`".to_owned(),
                    ));
                }
                segments.push(Segment::Key(path[start..end].to_owned()));
                i = end;
            }
            '[' => {
                let Some(close) = path[i + 1..].find(']') else {
                    return Err((base + i, "this `[` is never closed with `]`".to_owned()));
                };
                let inner = &path[i + 1..i + 1 + close];
                if inner == "*" {
                    return Err((
                        base + i,
                        "`[*]` (every element) is not supported; index one element such as `[0]`"
                            .to_owned(),
                    ));
                }
                let index = Some(inner)
                    .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|s| s.parse().ok());
                let Some(index) = index else {
                    return Err((
                        base + i + 1,
                        format!(
                            "an array index must be a whole number such as `[0]`, not `[{inner}]`"
                        ),
                    ));
                };
                segments.push(Segment::Index(index));
                i += close + 2;
            }
            other => {
                return Err((
                    base + i,
                    format!("unexpected `{other}` in a [BODY] path: use `.key` or `[index]`"),
                ));
            }
        }
    }
    Ok(segments)
}

/// Follows a path; `None` when any step is absent, including a key looked up in something
/// that is not an object or an index in something that is not an array.
pub(super) fn lookup<'v>(mut value: &'v Value, path: &[Segment]) -> Option<&'v Value> {
    for segment in path {
        value = match (segment, value) {
            (Segment::Key(key), Value::Object(map)) => map.get(key)?,
            (Segment::Index(index), Value::Array(items)) => items.get(*index)?,
            _ => return None,
        };
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_parse_into_keys_and_indexes() {
        let key = |k: &str| Segment::Key(k.to_owned());
        let cases: &[(&str, Vec<Segment>)] = &[
            ("", vec![]),
            (".a", vec![key("a")]),
            (".a.b", vec![key("a"), key("b")]),
            ("[0]", vec![Segment::Index(0)]),
            ("[1][2]", vec![Segment::Index(1), Segment::Index(2)]),
            (
                ".items[0].id",
                vec![key("items"), Segment::Index(0), key("id")],
            ),
            (".名前", vec![key("名前")]),
            (".first name", vec![key("first name")]),
        ];
        for (path, want) in cases {
            assert_eq!(&parse(path, 0).expect("valid"), want, "{path}");
        }
    }

    #[test]
    fn lookup_misses_are_none() {
        let v = json!({"a": [1, {"b": "x"}], "s": "text"});
        let path = |p: &str| parse(p, 0).expect("valid");
        assert_eq!(lookup(&v, &path(".a[1].b")), Some(&json!("x")));
        assert_eq!(lookup(&v, &path(".a[2]")), None);
        assert_eq!(lookup(&v, &path(".s.x")), None);
        assert_eq!(lookup(&v, &path("[0]")), None);
        assert_eq!(lookup(&v, &path(".a.b")), None);
    }
}
