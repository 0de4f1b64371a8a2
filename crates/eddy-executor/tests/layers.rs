//! The crate's module layering (docs/ARCHITECTURE.md, "The executor"): a
//! module may import only from layers below its own. The test reads the
//! crate's own sources, so the rule cannot drift from the code.
//!
//! What it sees: every `crate::…` and `super::…` path outside comments,
//! resolved to the longest module it names. What it cannot see: inherent
//! methods, which need no import; an `impl` block for a lower type belongs
//! in its callers' layer or below (the spawn path's `impl Shared` sits in
//! `executor::spawn`, under everything that spawns). Paths through the
//! crate root's re-exports (`crate::Handle`) are refused outright: they
//! would hide the module that is really used.

use std::fs;
use std::path::Path;

/// Bottom first. Modules in one layer do not import each other.
const LAYERS: &[&[&str]] = &[
    &[
        "lock",
        "outcome",
        "park",
        "seeded",
        "task_hooks",
        "yield_now",
    ],
    &["info"],
    &["debug"],
    &["hooks"],
    &["executor::shared"],
    &["executor::context"],
    &["task"],
    &["executor::spawn"],
    &["executor::handle"],
    &["cancel"],
    &["executor::current_thread", "executor::multi_thread"],
    &["executor"],
    &["introspect", "local"],
];

/// Issue #17: files a reader can hold.
const MAX_LINES: usize = 1000;

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// `src/executor/mod.rs` -> `executor`, `src/task.rs` -> `task`, `src/lib.rs`
/// -> `` (the crate root).
fn module_of(rel: &Path) -> String {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts.join("::")
}

fn parent_of(module: &str) -> &str {
    module.rsplit_once("::").map_or("", |(p, _)| p)
}

/// The path segments after a `crate::` or `super::` that starts at `at`.
fn segments(line: &str, at: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = &line[at..];
    loop {
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        out.push(&rest[..end]);
        match rest[end..].strip_prefix("::") {
            Some(r) => rest = r,
            None => break,
        }
    }
    out
}

/// The longest known module that `base::segments` starts with.
fn resolve(base: &str, segs: &[&str]) -> Option<String> {
    let mut best = (!base.is_empty() && layer_of(base).is_some()).then(|| base.to_owned());
    let mut path = base.to_owned();
    for s in segs {
        if !path.is_empty() {
            path.push_str("::");
        }
        path.push_str(s);
        if layer_of(&path).is_some() {
            best = Some(path.clone());
        }
    }
    best
}

/// Every import of `module`'s source `text` that breaks the layering, as
/// `line: message`.
fn violations(module: &str, text: &str) -> Vec<String> {
    let Some(own) = layer_of(module) else {
        return vec![format!("`{module}` is in no layer: add it to LAYERS")];
    };
    let mut out = Vec::new();
    // After an inline `mod tests {`, `super` is this file's own module.
    let mut inline_module = false;
    for (n, line) in text.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        if code.starts_with("mod ") && code.ends_with('{') {
            inline_module = true;
        }
        for (prefix, base) in [
            ("crate::", ""),
            (
                "super::",
                if inline_module {
                    module
                } else {
                    parent_of(module)
                },
            ),
        ] {
            for (at, _) in line.match_indices(prefix) {
                let bounded = line[..at]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'));
                if !bounded {
                    continue;
                }
                let segs = segments(line, at + prefix.len());
                let target = match resolve(base, &segs) {
                    Some(t) => t,
                    None if base.is_empty() => {
                        out.push(format!(
                            "{}: `{prefix}{}` is not a module path: import from the \
                             module that defines it",
                            n + 1,
                            segs.join("::")
                        ));
                        continue;
                    }
                    None => continue,
                };
                if target == module {
                    continue;
                }
                let theirs = layer_of(&target).unwrap_or(usize::MAX);
                if theirs >= own {
                    out.push(format!(
                        "{}: `{module}` (layer {own}) imports `{target}` (layer {theirs}): \
                         a module may import only from the layers below its own",
                        n + 1
                    ));
                }
            }
        }
    }
    out
}

fn sources(dir: &Path, root: &Path, out: &mut Vec<(String, String, usize)>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("read src")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sources(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).expect("under src");
            let text = fs::read_to_string(&path).expect("read source");
            let lines = text.lines().count();
            out.push((module_of(rel), text, lines));
        }
    }
}

#[test]
fn modules_import_only_from_layers_below() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &src, &mut files);
    let mut problems = Vec::new();
    for (module, text, lines) in &files {
        let name = if module.is_empty() { "lib" } else { module };
        if *lines > MAX_LINES {
            problems.push(format!("{name}: {lines} lines (at most {MAX_LINES})"));
        }
        // The crate root sits above every layer.
        if !module.is_empty() {
            problems.extend(
                violations(module, text)
                    .into_iter()
                    .map(|v| format!("{name}:{v}")),
            );
        }
    }
    for layer in LAYERS {
        for m in *layer {
            if !files.iter().any(|(module, _, _)| module == m) {
                problems.push(format!("LAYERS names `{m}`, which has no source file"));
            }
        }
    }
    assert!(problems.is_empty(), "layering:\n{}", problems.join("\n"));
}

/// The scan itself must keep finding what it is there to find.
#[test]
fn the_scan_catches_upward_and_hidden_imports() {
    let upward = "use crate::executor::shared::Shared;\n";
    assert_eq!(violations("debug", upward).len(), 1);
    assert!(violations("task", upward).is_empty());

    let through_root = "    let h = crate::Handle::try_current();\n";
    assert_eq!(violations("cancel", through_root).len(), 1);

    let to_parent = "use super::Executor;\n";
    assert_eq!(violations("executor::shared", to_parent).len(), 1);
    let to_sibling = "use super::handle::WorkerGuard;\n";
    assert!(violations("executor::multi_thread", to_sibling).is_empty());
    assert_eq!(violations("executor::context", to_sibling).len(), 1);
    let same_layer = "use super::current_thread::block_on;\n";
    assert_eq!(violations("executor::multi_thread", same_layer).len(), 1);

    let in_tests = "#[cfg(test)]\nmod tests {\n    use super::Header;\n}\n";
    assert!(violations("executor::shared", in_tests).is_empty());
    let commented = "/// See [`Handle`](crate::executor::handle::Handle).\n";
    assert!(violations("debug", commented).is_empty());
    assert_eq!(violations("nowhere", "").len(), 1);
}
