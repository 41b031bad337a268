//! JSON with a key given twice is refused (issue 33): serde_json keeps the last value of a
//! duplicated key, so a study file that names an axis twice loses a whole arm without a word.
//! `check` walks the text once with serde's own parser and names the first duplicate by its
//! dotted path; config, study and base files are checked before they are read.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::HashSet;
use std::fmt;

/// `Err("duplicate key schedule.warmup.steps at line 5 column 14")` for the first key an object
/// of `text` gives twice; `Ok` for valid JSON without duplicates (and for invalid JSON: the
/// reader that follows reports that).
pub fn check(text: &str) -> Result<(), String> {
    let mut de = serde_json::Deserializer::from_str(text);
    match (Walk {
        path: String::new(),
    })
    .deserialize(&mut de)
    {
        Err(e) if e.to_string().starts_with("duplicate key ") => Err(e.to_string()),
        _ => Ok(()),
    }
}

/// One value of the document, at `path`.
struct Walk {
    path: String,
}

impl Walk {
    fn child(&self, key: &str) -> Walk {
        let path = match self.path.is_empty() {
            true => key.to_string(),
            false => format!("{}.{key}", self.path),
        };
        Walk { path }
    }
}

impl<'de> DeserializeSeed<'de> for Walk {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let child = self.child(&key);
            if !seen.insert(key) {
                return Err(de::Error::custom(format!("duplicate key {}", child.path)));
            }
            map.next_value_seed(child)?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while seq.next_element_seed(self.child(&i.to_string()))?.is_some() {
            i += 1;
        }
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn the_first_duplicate_is_named_by_its_path() {
        assert_eq!(check(r#"{"a": 1, "b": {"c": [1, {"d": 2}]}}"#), Ok(()));
        let err = check(
            "{\"scientific\": {\"schedule.peak_lr\": [1e-3],\n \"schedule.peak_lr\": [2e-3]}}",
        )
        .unwrap_err();
        assert!(
            err.starts_with("duplicate key scientific.schedule.peak_lr at line 2"),
            "{err}"
        );
        let err = check(r#"{"extra": [{"x": 1}, {"y": 1, "y": 2}]}"#).unwrap_err();
        assert!(err.starts_with("duplicate key extra.1.y"), "{err}");
        assert_eq!(check("{not json"), Ok(()), "left to the reader");
    }
}
