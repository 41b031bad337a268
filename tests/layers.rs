//! The house stays walkable: the top-level modules of `src/` import each other without a circle
//! (a module's `crate::other` paths, outside comments and `#[cfg(test)]` blocks, are its
//! edges), so each can be read after the ones below it. On a circle the test names it. No file
//! of `src/` or `tests/` is over 500 lines, and the two readers of a study's results (`compare`,
//! `claims`) read `analysis`, not each other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module of a file under src/ (`src/data/tokenizer.rs` -> `data`); None for the roots.
fn module_of(rel: &Path) -> Option<String> {
    let first = rel
        .components()
        .next()?
        .as_os_str()
        .to_string_lossy()
        .to_string();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_string();
    (name != "lib" && name != "main").then_some(name)
}

/// The source without `//` comments and without everything from `#[cfg(test)]` on (unit
/// tests sit at the end of a file and may import anything).
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Modules named right after `crate::` (a `use crate::{a, b}` group counts each).
fn imports(code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let names: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => group.split('}').next().unwrap_or("").split(',').collect(),
            None => vec![rest],
        };
        for name in names {
            let ident: String = name
                .trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if modules.contains(&ident) {
                out.insert(ident);
            }
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|f| module_of(f.strip_prefix(&src).unwrap()))
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Some(module) = module_of(file.strip_prefix(&src).unwrap()) else {
            continue;
        };
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        let entry = edges.entry(module.clone()).or_default();
        entry.extend(
            imports(&code, &modules)
                .into_iter()
                .filter(|m| *m != module),
        );
    }
    edges
}

/// A circle through `start`, if any: depth-first over the edges.
fn circle_from(
    start: &str,
    at: &str,
    edges: &BTreeMap<String, BTreeSet<String>>,
    path: &mut Vec<String>,
    seen: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    for next in edges.get(at).into_iter().flatten() {
        if next == start {
            let mut circle = path.clone();
            circle.push(start.to_string());
            return Some(circle);
        }
        if seen.insert(next.clone()) {
            path.push(next.clone());
            if let Some(c) = circle_from(start, next, edges, path, seen) {
                return Some(c);
            }
            path.pop();
        }
    }
    None
}

#[test]
fn top_level_modules_import_without_a_circle() {
    let edges = graph();
    assert!(edges.len() > 20, "found only {:?}", edges.keys());
    // The leaves really are leaves.
    for leaf in ["error", "files", "stats", "cpu"] {
        let deps: Vec<_> = edges[leaf].iter().filter(|m| *m != "error").collect();
        assert!(deps.is_empty(), "{leaf} imports {deps:?}");
    }
    for start in edges.keys() {
        let mut path = vec![start.clone()];
        let circle = circle_from(start, start, &edges, &mut path, &mut BTreeSet::new());
        assert!(
            circle.is_none(),
            "import circle: {}",
            circle.unwrap().join(" -> ")
        );
    }
}

/// The two readers of a study's results, `compare` (tables, plots, HTML) and `claims`
/// (verdicts), both read `analysis` and never each other (issue 34): a verdict cannot depend on
/// how a panel is titled, and a plot on how a verdict is worded.
#[test]
fn claims_and_compare_read_analysis_not_each_other() {
    let edges = graph();
    assert!(
        edges["claims"].contains("analysis"),
        "{:?}",
        edges["claims"]
    );
    assert!(
        edges["compare"].contains("analysis"),
        "{:?}",
        edges["compare"]
    );
    assert!(
        !edges["claims"].contains("compare"),
        "claims imports compare: {:?}",
        edges["claims"]
    );
    assert!(
        !edges["analysis"].contains("compare") && !edges["analysis"].contains("claims"),
        "analysis imports a reader of it: {:?}",
        edges["analysis"]
    );
}

#[test]
fn the_circle_finder_finds_a_circle() {
    let edges: BTreeMap<String, BTreeSet<String>> = [
        ("config", vec!["data"]),
        ("data", vec!["results"]),
        ("results", vec!["config"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    let mut path = vec!["config".to_string()];
    let circle = circle_from("config", "config", &edges, &mut path, &mut BTreeSet::new());
    assert_eq!(
        circle.unwrap().join(" -> "),
        "config -> data -> results -> config"
    );
    let modules: BTreeSet<String> = ["data", "files"].map(String::from).into();
    let found = imports(
        "use crate::{data::x, files};\nlet a = crate::data::y;",
        &modules,
    );
    assert_eq!(found, modules);
}

/// One concern per file: no file of `src/` or `tests/` over 500 lines (a longer one is two
/// concerns).
#[test]
fn no_source_file_is_over_500_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    rust_files(&root.join("tests"), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).unwrap().lines().count();
            (lines > 500).then(|| format!("{} ({lines} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "over 500 lines: {long:?}");
}
