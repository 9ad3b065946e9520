//! Closed sets of config words (installer kinds, archive formats, checksum styles, ...): each
//! enum says once how its values are spelt, aliases included, and everything else (the config
//! key's allowed values, parsing, the README table) comes from that, so a value the config
//! accepts is always one the code can use.

/// An enum whose values are written as words in config files.
pub trait Vocabulary: Copy + Eq + 'static {
    /// Every value.
    const ALL: &'static [Self];

    /// The spellings of `self`: its name first, then aliases cargo-dist also accepts. Empty for
    /// a value no config file can name.
    fn spellings(self) -> &'static [&'static str];

    /// The name config files and outputs use.
    fn name(self) -> &'static str {
        self.spellings()[0]
    }

    /// The value a word names (any of its spellings).
    fn parse(word: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.spellings().contains(&word))
    }

    /// Every accepted word, names and aliases, in declaration order.
    fn words() -> Vec<&'static str> {
        Self::ALL
            .iter()
            .flat_map(|v| v.spellings().iter().copied())
            .collect()
    }

    /// False for a value that is accepted (cargo-dist accepts it) but changes nothing yet.
    fn acted(self) -> bool {
        true
    }

    /// The words of the values not acted on yet.
    fn not_acted_words() -> Vec<&'static str> {
        Self::ALL
            .iter()
            .filter(|v| !v.acted())
            .flat_map(|v| v.spellings().iter().copied())
            .collect()
    }
}

/// Checks an implementation: every word parses back to the value that spells it, no word
/// names two values, and every value but unspellable ones has a name.
pub fn check<V: Vocabulary + std::fmt::Debug>() -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for v in V::ALL {
        for w in v.spellings() {
            if !seen.insert(*w) {
                return Err(format!("`{w}` spells two values"));
            }
            if V::parse(w) != Some(*v) {
                return Err(format!("`{w}` does not parse back to {v:?}"));
            }
        }
    }
    Ok(())
}
