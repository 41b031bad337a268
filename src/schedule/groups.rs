//! Warmup on one parameter group (`--warmup-groups SPEC`, issue 32): the warmup ramp applies
//! only to the parameters SPEC matches (or, with a leading `!`, to all but them); every other
//! parameter runs at the full rate from update 1 — the schedule with its warmup replaced by the
//! peak — with no freeze and no release. This asks *where* warmup acts: if warming only the
//! attention's Q and K removes Post-LN's early stall, warmup acts there.
//!
//! A SPEC is a comma-separated union of group names, the way a reader of a Transformer names its
//! parts (parameter names are `model::params`'s):
//!
//! | group | parameters |
//! |---|---|
//! | `attn-qk` | `blocks.*.attn.q.*`, `blocks.*.attn.k.*` and QK-norm's `blocks.*.attn.q_norm.*`, `…k_norm.*` |
//! | `attn-vo` | `blocks.*.attn.v.*`, `blocks.*.attn.out.*` |
//! | `ffn` | `blocks.*.ffn.*` |
//! | `norms` | every normalization's gain, bias and DyT's a: `blocks.*.ln_*`, `final_ln.*` (not QK-norm's) |
//! | `embed` | `tok_emb.*` (the tied output layer), `pos_emb.*`, `head.*`, `final_ln.*` |
//! | `scales` | ReZero's α and Admin's ω: `blocks.*.alpha_*`, `blocks.*.omega_*` |
//! | `blocks:A-B` | every parameter of blocks A..=B (0-based), e.g. `blocks:0-1` |
//! | `top:K`, `bottom:K` | every parameter of the top or bottom K blocks |
//!
//! `final_ln` is in both `norms` and `embed`: the final norm is a norm, and it is also part of
//! the output end of the model that the embedding group stands for (Post-LN has none).
//! `--warmup-groups` covering every parameter is bit for bit the plain warmup.

use crate::error::Result;
use crate::usage;

/// The group names `--warmup-groups` accepts, for `--help` and messages.
pub const GROUP_NAMES: &str =
    "attn-qk, attn-vo, ffn, norms, embed, scales, blocks:A-B, top:K, bottom:K";

/// One named group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    AttnQk,
    AttnVo,
    Ffn,
    Norms,
    Embed,
    Scales,
    /// Blocks first..=last.
    Blocks(usize, usize),
    Top(usize),
    Bottom(usize),
}

/// A parsed SPEC: a union of groups, or its complement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSpec {
    groups: Vec<Group>,
    complement: bool,
}

impl GroupSpec {
    /// `attn-qk,attn-vo`, `!ffn`, `top:2`; a bad name is one line naming it and what is allowed.
    pub fn parse(text: &str) -> Result<Self> {
        let (complement, body) = match text.trim().strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, text.trim()),
        };
        let groups = body
            .split(',')
            .map(|name| parse_group(name.trim(), text))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { groups, complement })
    }

    /// Whether parameter `name` of a model with `n_layers` blocks follows the warmup.
    pub fn warms(&self, name: &str, n_layers: usize) -> bool {
        let hit = self.groups.iter().any(|g| g.contains(name, n_layers));
        hit != self.complement
    }

    /// Per parameter of `names`: follows the warmup. An empty selection (no parameter warmed)
    /// or a full one under `!` (none at the full rate) is refused: the spec does nothing the
    /// user can have meant.
    pub fn mask(&self, text: &str, names: &[&str], n_layers: usize) -> Result<Vec<bool>> {
        let hits: Vec<bool> = self
            .groups
            .iter()
            .map(|g| names.iter().any(|n| g.contains(n, n_layers)))
            .collect();
        if let Some(i) = hits.iter().position(|hit| !hit) {
            return Err(usage!(
                "--warmup-groups {text}: group {} matches no parameter of this model ({n_layers} blocks; groups: {GROUP_NAMES})",
                self.groups[i].name()
            ));
        }
        Ok(names.iter().map(|n| self.warms(n, n_layers)).collect())
    }
}

fn parse_group(name: &str, spec: &str) -> Result<Group> {
    let bad = |why: &str| {
        usage!("--warmup-groups {spec}: {why}; allowed: [!]GROUP[,GROUP...] with GROUP one of {GROUP_NAMES}")
    };
    let count = |k: &str| -> Result<usize> {
        k.parse::<usize>()
            .ok()
            .filter(|&k| k > 0)
            .ok_or_else(|| bad(&format!("'{name}' needs a block count >= 1")))
    };
    Ok(match name {
        "attn-qk" => Group::AttnQk,
        "attn-vo" => Group::AttnVo,
        "ffn" => Group::Ffn,
        "norms" => Group::Norms,
        "embed" => Group::Embed,
        "scales" => Group::Scales,
        _ if name.starts_with("top:") => Group::Top(count(&name[4..])?),
        _ if name.starts_with("bottom:") => Group::Bottom(count(&name[7..])?),
        _ if name.starts_with("blocks:") => {
            let range = &name[7..];
            let parsed = range.split_once('-').and_then(|(a, b)| {
                let (a, b) = (a.parse::<usize>().ok()?, b.parse::<usize>().ok()?);
                (a <= b).then_some((a, b))
            });
            let (a, b) =
                parsed.ok_or_else(|| bad(&format!("'{name}' needs blocks:A-B with A <= B")))?;
            Group::Blocks(a, b)
        }
        "" => return Err(bad("empty group name")),
        _ => return Err(bad(&format!("unknown group '{name}'"))),
    })
}

/// The block index of a parameter name (`blocks.3.ffn.w1.weight` -> 3); also what
/// `--freeze-top` reads (`optim::substitutes`).
pub fn block_of(name: &str) -> Option<usize> {
    name.strip_prefix("blocks.")?
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// The part of a block parameter's name after `blocks.N.` (`attn.q.weight`).
fn within_block(name: &str) -> Option<&str> {
    let rest = name.strip_prefix("blocks.")?;
    rest.split_once('.').map(|(_, tail)| tail)
}

impl Group {
    fn contains(self, name: &str, n_layers: usize) -> bool {
        let inner = within_block(name).unwrap_or("");
        let block = block_of(name);
        match self {
            Group::AttnQk => ["attn.q.", "attn.k.", "attn.q_norm.", "attn.k_norm."]
                .iter()
                .any(|p| inner.starts_with(p)),
            Group::AttnVo => inner.starts_with("attn.v.") || inner.starts_with("attn.out."),
            Group::Ffn => inner.starts_with("ffn."),
            Group::Norms => inner.starts_with("ln_") || name.starts_with("final_ln."),
            Group::Embed => ["tok_emb.", "pos_emb.", "head.", "final_ln."]
                .iter()
                .any(|p| name.starts_with(p)),
            Group::Scales => inner.starts_with("alpha_") || inner.starts_with("omega_"),
            Group::Blocks(a, b) => block.is_some_and(|i| (a..=b).contains(&i)),
            Group::Top(k) => block.is_some_and(|i| i + k >= n_layers),
            Group::Bottom(k) => block.is_some_and(|i| i < k),
        }
    }

    fn name(self) -> String {
        match self {
            Group::AttnQk => "attn-qk".into(),
            Group::AttnVo => "attn-vo".into(),
            Group::Ffn => "ffn".into(),
            Group::Norms => "norms".into(),
            Group::Embed => "embed".into(),
            Group::Scales => "scales".into(),
            Group::Blocks(a, b) => format!("blocks:{a}-{b}"),
            Group::Top(k) => format!("top:{k}"),
            Group::Bottom(k) => format!("bottom:{k}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 9] = [
        "tok_emb.weight",
        "blocks.0.attn.q.weight",
        "blocks.0.attn.k.weight",
        "blocks.0.attn.v.bias",
        "blocks.0.attn.out.weight",
        "blocks.0.ln_attn.weight",
        "blocks.1.ffn.w1.weight",
        "blocks.1.ln_ffn.bias",
        "final_ln.weight",
    ];

    fn warmed(spec: &str) -> Vec<&'static str> {
        let mask = GroupSpec::parse(spec)
            .unwrap()
            .mask(spec, &NAMES, 2)
            .unwrap();
        NAMES
            .iter()
            .zip(mask)
            .filter(|(_, m)| *m)
            .map(|(n, _)| *n)
            .collect()
    }

    #[test]
    fn groups_select_what_their_names_say() {
        assert_eq!(
            warmed("attn-qk"),
            ["blocks.0.attn.q.weight", "blocks.0.attn.k.weight"]
        );
        assert_eq!(
            warmed("attn-vo"),
            ["blocks.0.attn.v.bias", "blocks.0.attn.out.weight"]
        );
        assert_eq!(
            warmed("norms"),
            [
                "blocks.0.ln_attn.weight",
                "blocks.1.ln_ffn.bias",
                "final_ln.weight"
            ]
        );
        assert_eq!(warmed("embed"), ["tok_emb.weight", "final_ln.weight"]);
        assert_eq!(
            warmed("top:1"),
            ["blocks.1.ffn.w1.weight", "blocks.1.ln_ffn.bias"]
        );
        assert_eq!(warmed("bottom:1"), warmed("blocks:0-0"));
        let not_ffn = warmed("!ffn");
        assert_eq!(not_ffn.len(), NAMES.len() - 1);
        assert!(!not_ffn.contains(&"blocks.1.ffn.w1.weight"));
    }

    #[test]
    fn bad_specs_name_the_value_and_the_groups() {
        let err = GroupSpec::parse("attn-q").unwrap_err().to_string();
        assert!(
            err.starts_with("--warmup-groups attn-q: unknown group 'attn-q'; allowed:"),
            "{err}"
        );
        assert!(GroupSpec::parse("blocks:3-1").is_err());
        assert!(GroupSpec::parse("top:0").is_err());
        assert!(GroupSpec::parse("ffn,").is_err());
        let spec = GroupSpec::parse("scales").unwrap();
        let err = spec.mask("scales", &NAMES, 2).unwrap_err().to_string();
        assert!(err.contains("group scales matches no parameter"), "{err}");
    }
}
