//! `--data synthetic`: deterministic generated English-like text that needs nothing fetched.
//!
//! Sentences of words drawn with Zipf-like frequencies from a fixed invented lexicon, with a
//! simple word-bigram preference so there is structure beyond characters. The stream is seeded by
//! a constant (not the run seed): every run sees the same corpus.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SYLLABLES: [&str; 24] = [
    "ka", "lo", "mi", "ne", "su", "ta", "ri", "ve", "do", "pa", "gu", "sho", "an", "el", "or",
    "is", "qu", "bra", "th", "en", "wy", "ze", "fa", "mo",
];

/// About `n_chars` characters of synthetic text.
pub fn text(n_chars: usize) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_cafe);
    let lexicon = lexicon(&mut rng, 400);
    let mut out = String::with_capacity(n_chars + 64);
    let mut prev = 0usize;
    while out.len() < n_chars {
        let words = rng.random_range(4..14);
        for i in 0..words {
            // Zipf-like rank draw, nudged towards a successor of the previous word.
            let rank = if rng.random_bool(0.4) {
                (prev * 7 + 3) % lexicon.len()
            } else {
                zipf(&mut rng, lexicon.len())
            };
            let word = &lexicon[rank];
            if i == 0 {
                let mut chars = word.chars();
                let first = chars.next().map(|c| c.to_ascii_uppercase()).unwrap_or('X');
                out.push(first);
                out.push_str(chars.as_str());
            } else {
                out.push_str(word);
            }
            out.push(if i + 1 == words {
                '.'
            } else if rng.random_bool(0.08) {
                ','
            } else {
                ' '
            });
            if i + 1 < words && out.ends_with(',') {
                out.push(' ');
            }
            prev = rank;
        }
        out.push(if rng.random_bool(0.15) { '\n' } else { ' ' });
    }
    out
}

fn lexicon(rng: &mut ChaCha8Rng, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let syllables = rng.random_range(1..4);
            (0..syllables)
                .map(|_| SYLLABLES[rng.random_range(0..SYLLABLES.len())])
                .collect()
        })
        .collect()
}

/// Rank in 0..n with P(rank) roughly proportional to 1/(rank+1).
fn zipf(rng: &mut ChaCha8Rng, n: usize) -> usize {
    let u: f64 = rng.random();
    (((n as f64 + 1.0).powf(u)) - 1.0)
        .floor()
        .min(n as f64 - 1.0) as usize
}

#[cfg(test)]
mod tests {
    #[test]
    fn deterministic_and_sized() {
        let a = super::text(5000);
        assert_eq!(a, super::text(5000));
        assert!(a.len() >= 5000 && a.len() < 5200);
        assert!(a.contains('.') && a.contains(' '));
    }
}
