//! Where an object was rendered from: a helm `# Source:` comment or
//! kustomize's origin annotation, so diagnostics point at the template.
//!
//! It only reads comments and annotations; the object itself is untouched.

#[allow(unused_imports)]
use super::*;

/// The path named by helm's `# Source: chart/templates/x.yaml` comment
/// heading a document of `helm template` output.
pub(super) fn helm_comment(text: &str, first_line: u32) -> Option<(Arc<str>, u32)> {
    for (n, l) in (first_line..).zip(text.lines()) {
        let t = l.trim();
        if let Some(path) = t.strip_prefix("# Source:") {
            let path = path.trim();
            return (!path.is_empty()).then(|| (Arc::from(path), n + 1));
        }
        if !(t.is_empty() || t.starts_with('#') || t == "---") {
            return None;
        }
    }
    None
}

/// kustomize's `config.kubernetes.io/origin` annotation (`path: base/x.yaml`).
pub(super) fn kustomize_source(meta: &crate::model::Meta, line: u32) -> Option<(Arc<str>, u32)> {
    let origin = meta
        .annotations
        .as_ref()?
        .get("config.kubernetes.io/origin")?;
    let path = origin
        .lines()
        .find_map(|l| l.trim().strip_prefix("path:"))?
        .trim();
    let path = path.trim_matches(|c| c == '"' || c == '\'');
    (!path.is_empty()).then(|| (Arc::from(path), line))
}
