//! The dependency picture reads top-down: `main` → `server` → `http` → `graphql` → `app` (the
//! application state) → `config` → the domain services → the database and the building blocks
//! (`db`, `listing`, `error`, `ids`, `validation`, `telemetry`, `metrics`). This test reads every source
//! file under `src/` and fails when a module imports one of a higher layer: a domain service
//! naming `crate::graphql`, the GraphQL layer naming `crate::http`, anything below the
//! GraphQL layer naming `crate::app`, and so on. There is no allow-list.
//!
//! Paths are found after comments, strings and character literals are blanked out, in every
//! form Rust spells them: `crate::graphql::x`, `$crate::graphql`, `use crate::{graphql, ...}`
//! (nested groups too), and `super::` chains that climb to the crate root.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers from the top; a module may import its own layer and those below it. `config`
/// gathers the settings of the domain services for `app` to hand out, so it sits above them.
/// Modules named in neither list (`contacts`, `gdpr`, `sync`, ...) are the domain services,
/// which sit on [`FOUNDATION`].
const LAYERS: &[&str] = &["main", "server", "http", "graphql", "app", "config"];

/// The bottom layer: the database and the plain building blocks every service uses. None of
/// them may name a domain service, the settings or anything above.
const FOUNDATION: &[&str] = &[
    "db",
    "listing",
    "error",
    "ids",
    "validation",
    "telemetry",
    "metrics",
];

fn rank(top_module: &str) -> usize {
    if FOUNDATION.contains(&top_module) {
        return LAYERS.len() + 1;
    }
    LAYERS
        .iter()
        .position(|m| *m == top_module)
        .unwrap_or(LAYERS.len())
}

/// The top-level module (`graphql`, `contacts`, `main`, ...) and the module path of a file
/// under `src/`.
fn module_of(relative: &Path) -> (String, Vec<String>) {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs").to_owned();
        if stem != "mod" {
            parts.push(stem);
        }
    }
    let top = parts.first().cloned().unwrap_or_default();
    (top, parts)
}

/// The source with comments, string literals and character literals replaced by spaces
/// (newlines kept, so line numbers stay right).
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if (c == 'r' || c == 'b')
            && !chars
                .get(i.wrapping_sub(1))
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
            && raw_string_start(&chars[i..]).is_some()
        {
            let (prefix, hashes) = raw_string_start(&chars[i..]).unwrap_or((0, 0));
            for _ in 0..prefix {
                out.push(' ');
            }
            i += prefix;
            // Up to the closing quote followed by the same number of hashes.
            while i < chars.len() {
                if chars[i] == '"' && (0..hashes).all(|k| chars.get(i + 1 + k) == Some(&'#')) {
                    for _ in 0..=hashes {
                        out.push(' ');
                    }
                    i += 1 + hashes;
                    break;
                }
                out.push(blank(chars[i]));
                i += 1;
            }
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{..}'), or else a lifetime or label.
            let literal_end = if next == Some('\\') {
                (i + 2..chars.len().min(i + 12)).find(|&k| chars[k] == '\'')
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match literal_end {
                Some(end) => {
                    for _ in i..=end {
                        out.push(' ');
                    }
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// `r"`, `r#"`, `br##"`...: the length of the opening and the number of hashes.
fn raw_string_start(chars: &[char]) -> Option<(usize, usize)> {
    let mut i = 0;
    if chars.first() == Some(&'b') {
        i += 1;
    }
    if chars.get(i) != Some(&'r') {
        return None;
    }
    i += 1;
    let mut hashes = 0;
    while chars.get(i) == Some(&'#') {
        hashes += 1;
        i += 1;
    }
    (chars.get(i) == Some(&'"')).then_some((i + 1, hashes))
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn skip_space(chars: &[char], mut i: usize) -> usize {
    while chars.get(i).is_some_and(|c| c.is_whitespace()) {
        i += 1;
    }
    i
}

/// After `::` at `i`: the first segment named there, or each first segment of a `{...}` group
/// (nested groups give theirs too, as `crate::{a::{b}, c}` names `a` and `c`).
fn first_segments(chars: &[char], i: usize) -> Vec<String> {
    let i = skip_space(chars, i);
    if chars.get(i) == Some(&'{') {
        let mut names = Vec::new();
        let mut depth = 0;
        let mut expect_name = true;
        let mut k = i;
        while k < chars.len() {
            match chars[k] {
                '{' => {
                    depth += 1;
                    if depth == 1 {
                        expect_name = true;
                    }
                    k += 1;
                }
                '}' => {
                    depth -= 1;
                    k += 1;
                    if depth == 0 {
                        break;
                    }
                }
                ',' if depth == 1 => {
                    expect_name = true;
                    k += 1;
                }
                c if depth == 1 && expect_name && is_ident(c) => {
                    let start = k;
                    while k < chars.len() && is_ident(chars[k]) {
                        k += 1;
                    }
                    names.push(chars[start..k].iter().collect());
                    expect_name = false;
                }
                _ => k += 1,
            }
        }
        names
    } else {
        let mut k = i;
        while k < chars.len() && is_ident(chars[k]) {
            k += 1;
        }
        vec![chars[i..k].iter().collect()]
    }
}

/// Every top-level module of the crate the code names, with the line it names it on.
fn imported_top_modules(code: &str, module_path: &[String]) -> Vec<(String, usize)> {
    let chars: Vec<char> = code.chars().collect();
    let line_of = |i: usize| chars[..i].iter().filter(|c| **c == '\n').count() + 1;
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let preceded = i > 0 && (is_ident(chars[i - 1]) || chars[i - 1] == ':');
        if !preceded && chars[i..].starts_with(&['c', 'r', 'a', 't', 'e', ':', ':']) {
            for name in first_segments(&chars, i + 7) {
                found.push((name, line_of(i)));
            }
            i += 7;
        } else if !preceded && chars[i..].starts_with(&['s', 'u', 'p', 'e', 'r', ':', ':']) {
            // Count the chain of `super::`; one that climbs past the file's own module path
            // reaches the crate root (inline modules only make it climb later).
            let start = i;
            let mut supers = 0;
            while chars[i..].starts_with(&['s', 'u', 'p', 'e', 'r', ':', ':']) {
                supers += 1;
                i = skip_space(&chars, i + 7);
            }
            if supers >= module_path.len() {
                for name in first_segments(&chars, i) {
                    found.push((name, line_of(start)));
                }
            }
        } else {
            i += 1;
        }
    }
    found
}

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// Every import of a higher layer under `src/`, as `file:line: module imports higher`.
fn violations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    // What a `super::` chain climbing out of an inline module reaches may be an item rather
    // than a module (`use super::*` in a file's tests): only the crate's modules have a layer.
    let modules: BTreeSet<String> = files
        .iter()
        .map(|file| module_of(file.strip_prefix(src).unwrap_or(file)).0)
        .collect();
    let mut found = BTreeSet::new();
    for file in &files {
        let relative = file.strip_prefix(src).unwrap_or(file);
        let (top, module_path) = module_of(relative);
        let source = std::fs::read_to_string(file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        for (name, line) in imported_top_modules(&code_only(&source), &module_path) {
            if name != top && modules.contains(&name) && rank(&name) < rank(&top) {
                found.insert(format!(
                    "src/{}:{line}: `{top}` imports `{name}`, a higher layer",
                    relative.display()
                ));
            }
        }
    }
    found.into_iter().collect()
}

/// Which top-level modules each top-level module imports.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .map(|file| module_of(file.strip_prefix(src).unwrap_or(file)).0)
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let (top, module_path) = module_of(file.strip_prefix(src).unwrap_or(file));
        let source = std::fs::read_to_string(file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        let imports = graph.entry(top.clone()).or_default();
        for (name, _) in imported_top_modules(&code_only(&source), &module_path) {
            if name != top && modules.contains(&name) {
                imports.insert(name);
            }
        }
    }
    graph
}

/// A circle of imports among top-level modules, if there is one, as `a → b → ... → a`.
fn find_circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        module: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|m| m == module) {
            let mut circle = path[start..].to_vec();
            circle.push(module.to_owned());
            return Some(circle);
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.to_owned());
        for next in graph.get(module).into_iter().flatten() {
            if let Some(circle) = visit(next, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(module.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|module| visit(module, graph, &mut Vec::new(), &mut done))
}

/// Within a layer too, the modules import each other one way only: no circle among the
/// top-level modules (the GraphQL object types referring to each other all live in `graphql`).
#[test]
fn no_circle_among_modules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = module_graph(&src);
    assert!(
        graph.contains_key("contacts") && graph.contains_key("gdpr"),
        "{graph:#?}"
    );
    if let Some(circle) = find_circle(&graph) {
        panic!(
            "these modules import each other in a circle: {}",
            circle.join(" → ")
        );
    }
}

#[test]
fn a_circle_is_found() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("contacts", vec!["gdpr", "db"]),
        ("gdpr", vec!["audit"]),
        ("audit", vec!["contacts"]),
        ("db", vec![]),
    ]
    .into_iter()
    .map(|(m, to)| (m.to_owned(), to.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(
        find_circle(&graph),
        Some(
            ["audit", "contacts", "gdpr", "audit"]
                .map(str::to_owned)
                .to_vec()
        )
    );
    let mut acyclic = graph.clone();
    acyclic.insert("audit".to_owned(), BTreeSet::new());
    assert_eq!(find_circle(&acyclic), None);
}

#[test]
fn no_module_imports_a_higher_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = violations(&src);
    assert!(
        found.is_empty(),
        "layers are http → graphql → app → config → domain services → db (see ARCHITECTURE.md); \
         these imports reach up:\n{}",
        found.join("\n")
    );
}

/// The scan itself, on a throw-away tree: each spelling of an upward import is caught, and
/// what only looks like one (comments, strings, imports within a layer) is not.
#[test]
fn the_scan_finds_every_spelling_of_an_upward_import() {
    let dir = std::env::temp_dir().join(format!("lexgate-layers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap_or(&dir)).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    };
    write("contacts/mod.rs", "use crate::graphql::context::state;\n");
    write("contacts/merge.rs", "use crate::{db, graphql::Node};\n");
    write(
        "matters/mod.rs",
        "mod tests {\n    use super::super::http::router;\n}\n",
    );
    write(
        "billing.rs",
        "fn f() -> crate::app::AppState {\n    todo!()\n}\n",
    );
    write(
        "gdpr/mod.rs",
        "macro_rules! m { () => { $crate::server::run() } }\n",
    );
    write(
        "graphql/mod.rs",
        "use crate::http::AppContext;\nuse crate::app::AppState;\n",
    );
    write(
        "http/mod.rs",
        "use crate::graphql::execute;\nuse crate::app::AppState;\n",
    );
    write(
        "deadlines/mod.rs",
        "// crate::graphql in a comment\n/* crate::http /* nested */ crate::server */\n\
         const A: &str = \"crate::graphql\";\nconst B: &str = r#\"crate::http\"#;\n\
         const C: char = '\"'; fn g<'a>(x: &'a str) -> &'a str { x }\nuse crate::db;\n",
    );
    for layer in ["app.rs", "server.rs", "config.rs"] {
        write(layer, "");
    }
    write(
        "db/mod.rs",
        "use crate::contacts::Contact;\nuse crate::error::Result;\n",
    );
    write(
        "mail/smtp.rs",
        "use crate::config::MailSettings;\nuse crate::db;\n",
    );
    write("telemetry.rs", "use crate::{config::Settings, metrics};\n");
    let found = violations(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    let files: Vec<&str> = found
        .iter()
        .map(|v| v.split(':').next().unwrap_or(""))
        .collect();
    assert_eq!(
        files,
        [
            "src/billing.rs",
            "src/contacts/merge.rs",
            "src/contacts/mod.rs",
            "src/db/mod.rs",
            "src/gdpr/mod.rs",
            "src/graphql/mod.rs",
            "src/mail/smtp.rs",
            "src/matters/mod.rs",
            "src/telemetry.rs",
        ],
        "{found:#?}"
    );
    assert!(found[5].contains("`graphql` imports `http`"), "{found:#?}");
    assert!(found[3].contains("`db` imports `contacts`"), "{found:#?}");
}
