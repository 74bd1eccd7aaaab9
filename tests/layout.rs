//! The source tree's shape, checked: no file over 500 lines (a trailing
//! `#[cfg(test)]` module not counted), no import cycle between files, no folder
//! importing from a layer above it (the order is the README's "Layers, lowest
//! first" line), internal code importing from the defining module (not the crate
//! root's re-exports), and the ARCHITECTURE.md's layout section naming every source
//! file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 500;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's code without a trailing test module.
fn code_of(text: &str) -> &str {
    text.find("\n#[cfg(test)]\nmod tests").map_or(text, |i| &text[..i])
}

/// The module path of a source file: `src/a/b.rs` and `src/a/b/mod.rs` → `["a", "b"]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts
}

/// The code without `//` comments (doc comments included).
fn without_comments(code: &str) -> String {
    code.lines().map(|l| l.find("//").map_or(l, |i| &l[..i])).collect::<Vec<_>>().join("\n")
}

/// Every `crate::…` / `super::…` path the code names, in `use` items (braces
/// expanded) and inline.
fn paths_in(code: &str) -> Vec<Vec<String>> {
    let code = &without_comments(code);
    let mut out = Vec::new();
    // `use` items (`use …;`, `pub use …;`, `pub(crate) use …;`), braces expanded.
    let mut offset = 0;
    for line in code.split_inclusive('\n') {
        let t = line.trim_start();
        let t = t.strip_prefix("pub(crate) ").or_else(|| t.strip_prefix("pub(super) ")).unwrap_or(t);
        let t = t.strip_prefix("pub ").unwrap_or(t);
        if let Some(item) = t.strip_prefix("use ") {
            let start = offset + (line.len() - item.len());
            if let Some(end) = code[start..].find(';') {
                let item: String = code[start..start + end].chars().filter(|c| !c.is_whitespace()).collect();
                expand(&item, &mut out);
            }
        }
        offset += line.len();
    }
    // Inline paths.
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(start) {
            let at = from + i;
            let path: String =
                code[at..].chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
            out.push(path.split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect());
            from = at + start.len();
        }
    }
    out.retain(|p| matches!(p.first().map(String::as_str), Some("crate" | "super")));
    out
}

fn expand(item: &str, out: &mut Vec<Vec<String>>) {
    match item.find('{') {
        None => out.push(item.split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect()),
        Some(open) => {
            let prefix = &item[..open];
            let inner = &item[open + 1..item.rfind('}').unwrap_or(item.len())];
            let (mut depth, mut start) = (0, 0);
            let mut parts = Vec::new();
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        parts.push(&inner[start..i]);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            parts.push(&inner[start..]);
            for p in parts.into_iter().filter(|p| !p.is_empty()) {
                expand(&format!("{prefix}{p}"), out);
            }
        }
    }
}

/// Module path → (file name, text).
type Tree = BTreeMap<Vec<String>, (String, String)>;

/// The layer order the README states ("Layers, lowest first: `a` → `b` → …"): the
/// folders (and top-level files) of `src/`, lowest first.
fn layers() -> Vec<String> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let at = readme.find("Layers, lowest first:").expect("the README states the layers");
    let line = &readme[at..readme[at..].find(".\n").map_or(readme.len(), |e| at + e)];
    line.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

/// The layer a module belongs to: its folder, or the top-level file's name. The
/// crate root (which re-exports) and the command-line binary (its own crate) have
/// none.
fn layer_of(module: &[String]) -> Option<&str> {
    module.first().map(String::as_str).filter(|&f| f != "bin")
}

/// What is wrong with a tree: long files, imports through the crate root, imports
/// against the layer order, cycles.
fn problems(modules: &Tree, layers: &[String]) -> Vec<String> {
    let rank = |m: &[String]| layer_of(m).map(|l| layers.iter().position(|x| x == l));
    let mut problems = Vec::new();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (module, (file, text)) in modules {
        let code = code_of(text);
        if rank(module) == Some(None) {
            problems.push(format!("{file}: `{}` is not in the README's layer order", module[0]));
        }
        let lines = code.lines().count();
        if lines > MAX_LINES {
            problems.push(format!("{file} has {lines} lines (at most {MAX_LINES})"));
        }
        for path in paths_in(code).into_iter().collect::<BTreeSet<_>>() {
            // Resolve to the deepest module that exists.
            let mut target: Vec<String> = match path[0].as_str() {
                "crate" => Vec::new(),
                _ => module[..module.len().saturating_sub(1)].to_vec(),
            };
            let mut rest = &path[1..];
            while let Some(seg) = rest.first() {
                if seg == "super" {
                    target.pop();
                    rest = &rest[1..];
                    continue;
                }
                let mut next = target.clone();
                next.push(seg.clone());
                if !modules.contains_key(&next) {
                    break;
                }
                target = next;
                rest = &rest[1..];
            }
            if target.is_empty() && !module.is_empty() {
                problems.push(format!(
                    "{file} imports `{}` through the crate root's re-exports; import it from its module",
                    path.join("::")
                ));
                continue;
            }
            if let (Some(Some(from)), Some(Some(to))) = (rank(module), rank(&target)) {
                if to > from {
                    problems.push(format!(
                        "{file} imports `{}`: `{}` is a layer above `{}`",
                        path.join("::"),
                        layers[to],
                        layers[from]
                    ));
                }
            }
            if &target != module {
                edges.entry(module.clone()).or_default().insert(target);
            }
        }
    }
    // Depth-first search for cycles.
    fn visit(
        m: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        state: &mut BTreeMap<Vec<String>, u8>,
        stack: &mut Vec<Vec<String>>,
        cycles: &mut Vec<String>,
    ) {
        match state.get(m) {
            Some(2) => return,
            Some(1) => {
                let at = stack.iter().position(|x| x == m).unwrap_or(0);
                let names: Vec<String> = stack[at..].iter().chain([m]).map(|p| p.join("::")).collect();
                cycles.push(names.join(" → "));
                return;
            }
            _ => {}
        }
        state.insert(m.clone(), 1);
        stack.push(m.clone());
        for next in edges.get(m).into_iter().flatten() {
            visit(next, edges, state, stack, cycles);
        }
        stack.pop();
        state.insert(m.clone(), 2);
    }
    let mut state = BTreeMap::new();
    let mut cycles = Vec::new();
    for m in modules.keys() {
        visit(m, &edges, &mut state, &mut Vec::new(), &mut cycles);
    }
    problems.extend(cycles.into_iter().map(|c| format!("import cycle: {c}")));
    problems
}

#[test]
fn files_are_short_and_imports_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let modules: Tree = files
        .iter()
        .map(|f| (module_of(&src, f), (f.display().to_string(), std::fs::read_to_string(f).unwrap())))
        .collect();
    let problems = problems(&modules, &layers());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_checker_reports_long_files_root_imports_layer_breaks_and_cycles() {
    let tree = |files: &[(&str, String)]| -> Tree {
        files
            .iter()
            .map(|(m, code)| (m.split("::").map(str::to_owned).collect(), (m.to_string(), code.clone())))
            .collect()
    };
    let clean = tree(&[
        ("a", "use crate::b::Thing;\n".into()),
        ("b", "pub struct Thing;\n".into()),
        ("c", "use super::b::Thing;\n// a comment saying use crate::a::X\n".into()),
    ]);
    let order: Vec<String> = ["b", "a", "c", "d", "e"].map(str::to_owned).into();
    assert_eq!(problems(&clean, &order), Vec::<String>::new());
    let bad = tree(&[
        ("a", "use crate::b::Thing;\n".into()),
        ("b", "pub(crate) use super::a::Other;\n".into()),
        ("c", "fn f() { let _ = crate::Error::ShutDown; }\n".into()),
        ("d", "fn f() {}\n".repeat(MAX_LINES + 1)),
        ("e::x", "use crate::a::Y;\n".into()),
        ("f", "\n".into()),
    ]);
    let order: Vec<String> = ["e", "b", "a", "c", "d"].map(str::to_owned).into();
    let found = problems(&bad, &order);
    assert!(found.iter().any(|p| p == "import cycle: a → b → a"), "{found:?}");
    assert!(found.iter().any(|p| p == "b imports `super::a::Other`: `a` is a layer above `b`"), "{found:?}");
    assert!(found.iter().any(|p| p == "e::x imports `crate::a::Y`: `a` is a layer above `e`"), "{found:?}");
    assert!(found.iter().any(|p| p == "f: `f` is not in the README's layer order"), "{found:?}");
    assert!(
        found.iter().any(|p| p.starts_with("c imports `crate::Error::ShutDown` through the crate root")),
        "{found:?}"
    );
    assert!(found.iter().any(|p| p.starts_with("d has 501 lines")), "{found:?}");
    assert_eq!(found.len(), 6, "{found:?}");
}

#[test]
fn the_layout_section_names_every_source_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let layout = readme.split("## Layout").nth(1).expect("a Layout section");
    let layout = layout.split("\n## ").next().unwrap();
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    let mut missing: Vec<String> = files
        .iter()
        .map(|f| f.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/"))
        .filter(|f| {
            // Listed as a path, or by name under its folder's line.
            let name = f.rsplit('/').next().unwrap();
            !layout.contains(f.as_str()) && !layout.contains(&format!(" {name}")) && !layout.contains(name)
        })
        .collect();
    missing.sort();
    assert!(missing.is_empty(), "not in ARCHITECTURE.md's layout section: {missing:?}");
}

#[test]
fn the_parser_expands_braces_and_skips_comments() {
    // The parser the tests above rely on: braces, nesting, inline paths.
    let mut out = Vec::new();
    expand("crate::a::{b::{C,D},e::F}", &mut out);
    assert_eq!(out, vec![vec!["crate", "a", "b", "C"], vec!["crate", "a", "b", "D"], vec!["crate", "a", "e", "F"]]);
    let paths = paths_in("use super::x::Y;\n// the names use crate::q\nfn f() { crate::z::g(); }\nfn reuse() {}");
    let paths: BTreeSet<Vec<String>> = paths.into_iter().collect();
    let want: BTreeSet<Vec<String>> =
        [vec!["super", "x", "Y"], vec!["crate", "z", "g"]].map(|v| v.into_iter().map(str::to_owned).collect()).into();
    assert_eq!(paths, want);
}
