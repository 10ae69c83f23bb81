//! Tauri commands: short adapters from the window to the engine.

pub mod editor;
pub mod history;
pub mod incidents;
pub mod letter;
pub mod monitoring;
pub mod postmortem;
pub mod sla;
pub mod status;

/// The command list is written in five places: the handler (`app.rs`), the permissions the
/// build script makes (`build.rs`), the window's capability, the window's wrappers
/// (`ui/src/lib/api.ts`) and `docs/ipc.md`. A command missing from one of them fails at run
/// time (refused by the capability, or never called), so they are held equal here.
#[cfg(test)]
mod lists {
    use std::collections::BTreeSet;
    use std::path::Path;

    fn read(relative: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Every `word` that follows `prefix` and is made of `[a-z_-]`, up to `end`.
    fn names(text: &str, prefix: &str, end: char) -> BTreeSet<String> {
        text.match_indices(prefix)
            .filter_map(|(i, _)| {
                let rest = &text[i + prefix.len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_' || *c == '-')
                    .collect();
                (rest[name.len()..].starts_with(end) && !name.is_empty()).then_some(name)
            })
            .collect()
    }

    #[test]
    fn every_command_is_handled_permitted_granted_wrapped_and_documented() {
        let app = read("src/app.rs");
        let start = app.find("generate_handler![").expect("the handler list");
        let end = start + app[start..].find("])").expect("its end");
        let handled: BTreeSet<String> = app[start..end]
            .split(',')
            .filter_map(|entry| entry.trim().rsplit("::").next())
            .filter(|name| !name.is_empty() && !name.contains('['))
            .map(str::to_owned)
            .collect();
        let build = read("build.rs");
        let permitted = names(&build, "            \"", '"');
        let granted: BTreeSet<String> = names(&read("capabilities/main.json"), "\"allow-", '"')
            .into_iter()
            .map(|n| n.replace('-', "_"))
            .collect();
        let api = read("../ui/src/lib/api.ts");
        let called: BTreeSet<String> = api
            .match_indices("('")
            .filter_map(|(i, _)| {
                let rest = &api[i + 2..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                (rest[name.len()..].starts_with('\'') && name.contains('_')).then_some(name)
            })
            .collect();
        let documented = names(&read("../docs/ipc.md"), "| `", '`')
            .into_iter()
            .chain(names(&read("../docs/ipc.md"), ", `", '`'))
            .collect::<BTreeSet<_>>();
        // Equal empty lists would prove nothing: the handler's list was read.
        assert!(handled.len() > 40, "{handled:?}");
        assert_eq!(
            handled, permitted,
            "app.rs's handler and build.rs's permissions"
        );
        assert_eq!(handled, granted, "the handler and the window's capability");
        assert_eq!(handled, called, "the handler and ui/src/lib/api.ts");
        let undocumented: Vec<&String> = handled.difference(&documented).collect();
        assert!(
            undocumented.is_empty(),
            "not in docs/ipc.md: {undocumented:?}"
        );
    }
}
