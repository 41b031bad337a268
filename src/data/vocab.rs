//! Character vocabulary built from the training text.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Sorted distinct characters of the training text. If the validation text holds characters the
/// training text lacks, they map to an extra `unk` id (the last one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CharVocab {
    pub chars: Vec<char>,
    pub has_unk: bool,
    #[serde(skip)]
    index: HashMap<char, u32>,
}

impl CharVocab {
    pub fn build(train: &str, val: &str) -> Self {
        let mut chars: Vec<char> = train
            .chars()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        chars.shrink_to_fit();
        let index: HashMap<char, u32> = chars
            .iter()
            .enumerate()
            .map(|(i, &c)| (c, i as u32))
            .collect();
        let has_unk = val.chars().any(|c| !index.contains_key(&c));
        Self {
            chars,
            has_unk,
            index,
        }
    }

    pub fn size(&self) -> usize {
        self.chars.len() + usize::from(self.has_unk)
    }

    pub fn encode(&self, text: &str) -> Vec<u32> {
        let unk = self.chars.len() as u32;
        text.chars()
            .map(|c| *self.index.get(&c).unwrap_or(&unk))
            .collect()
    }
}

/// Unigram entropy (nats) of a token stream: the loss of a model that ignores context.
pub fn unigram_entropy(tokens: &[u32], vocab_size: usize) -> f64 {
    let mut counts = vec![0u64; vocab_size];
    for &t in tokens {
        counts[t as usize] += 1;
    }
    let n = tokens.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.ln()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_maps_unseen_to_unk() {
        let v = CharVocab::build("abca", "abz");
        assert_eq!(v.chars, vec!['a', 'b', 'c']);
        assert!(v.has_unk);
        assert_eq!(v.size(), 4);
        assert_eq!(v.encode("cabz"), vec![2, 0, 1, 3]);
    }

    #[test]
    fn entropy_of_uniform_pair_is_ln2() {
        let h = unigram_entropy(&[0, 1, 0, 1], 2);
        assert!((h - 2f64.ln()).abs() < 1e-12);
    }
}
