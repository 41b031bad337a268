//! The README and docs/ stay navigable: every relative link of README.md, docs/*.md and the
//! committed study reports names a file that exists, and every `#anchor` names a heading of its
//! page (GitHub's slugs: lower case, punctuation dropped, spaces to hyphens).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn slug(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == ' ' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a markdown page: its headings outside code fences.
fn anchors(page: &Path) -> BTreeSet<String> {
    let mut fence = false;
    let mut out = BTreeSet::new();
    for line in std::fs::read_to_string(page).unwrap().lines() {
        if line.starts_with("```") {
            fence = !fence;
        } else if !fence && line.starts_with('#') {
            out.insert(slug(line.trim_start_matches('#').trim()));
        }
    }
    out
}

/// (target) of every `](target)` link in `text`.
fn links(text: &str) -> Vec<String> {
    text.match_indices("](")
        .filter_map(|(at, _)| {
            let rest = &text[at + 2..];
            let end = rest.find(')')?;
            let target = &rest[..end];
            (!target.contains(char::is_whitespace)).then(|| target.to_string())
        })
        .collect()
}

fn pages() -> Vec<PathBuf> {
    let mut out = vec![root().join("README.md")];
    let mut dirs = vec![root().join("docs")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    out
}

fn broken_links() -> Vec<String> {
    let mut broken = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for link in links(&text) {
            if link.contains("://") || link.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = link.split_once('#').unwrap_or((&link, ""));
            let target = if path.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap().join(path)
            };
            let name = page.strip_prefix(root()).unwrap().display().to_string();
            if !target.exists() {
                broken.push(format!("{name}: {link} (no such file)"));
            } else if !anchor.is_empty()
                && target.extension().is_some_and(|e| e == "md")
                && !anchors(&target).contains(anchor)
            {
                broken.push(format!("{name}: {link} (no such heading)"));
            }
        }
    }
    broken
}

#[test]
fn every_relative_link_and_anchor_resolves() {
    assert!(pages().len() >= 10);
    let broken = broken_links();
    assert!(broken.is_empty(), "{broken:#?}");
}

#[test]
fn slugs_are_githubs() {
    assert_eq!(
        slug("Gradients at initialization: `lnwarm grad-init`"),
        "gradients-at-initialization-lnwarm-grad-init"
    );
    assert_eq!(
        slug("Every scheme, one command, one machine"),
        "every-scheme-one-command-one-machine"
    );
    assert_eq!(
        links("see [a](docs/x.md#y) and [b](https://z)"),
        ["docs/x.md#y", "https://z"]
    );
}
