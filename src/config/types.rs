//! The value types config keys are declared with, and the one check that enforces them.
//!
//! A type both validates (strict: a wrong type is an error naming the key) and describes itself,
//! so the error text and the README table say the same thing.

use dist_recipes::vocab::Vocabulary;
use serde_json::Value;

/// Extra check on each string of a value: `Err` says what was expected.
pub type Check = fn(&str) -> Result<(), String>;
/// A check of a list's strings together (what one string alone cannot show).
pub type ListCheck = fn(&[&str]) -> Result<(), String>;

/// The words an enumerated type allows, and those of them not acted on yet: from its enum
/// ([`Vocabulary`]).
#[derive(Clone, Copy)]
pub struct Words {
    pub all: fn() -> Vec<&'static str>,
    pub not_acted: fn() -> Vec<&'static str>,
}

impl Words {
    pub const fn of<V: Vocabulary>() -> Words {
        Words {
            all: V::words,
            not_acted: V::not_acted_words,
        }
    }
}

/// Checks a table-shaped value: `Err` names the sub-key and what was expected there.
/// Unknown fields inside the table are pushed to the list (warned about, never an error).
pub type ShapeCheck = fn(&Value, &mut Vec<String>) -> Result<(), String>;

#[derive(Clone, Copy)]
pub enum Ty {
    Bool,
    Str(Option<Check>),
    /// A string from a fixed set.
    OneOf(Words),
    Strings(Option<Check>),
    /// An array of strings from a fixed set.
    ListOf(Words),
    /// `key = "x"` or `key = ["x", "y"]`.
    /// Each string checked, then the list as a whole.
    StrOrStrings(Option<Check>, Option<ListCheck>),
    /// One of a fixed set, alone or in an array (`ci = "github"`, `hosting = ["github"]`).
    OneOrListOf(Words),
    /// `true`/`false`, or an array from a fixed set (`allow-dirty`).
    BoolOrListOf(Words),
    /// A table of names to arrays of strings (`bin-aliases`, `binaries`).
    MapOfStrings,
    /// A table of names to strings (`github-action-commits`).
    MapOfStr,
    /// Anything table-shaped that a function checks; the text says what it holds.
    Shaped(&'static str, ShapeCheck),
}

/// Why a value does not fit its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// The wrong TOML type: `expected` describes the right one.
    Type { expected: String },
    /// The right type, a value outside what is allowed.
    Value { value: String, expected: String },
    /// A table whose inside is wrong.
    Shape(String),
}

impl Ty {
    /// What a value of this type looks like, for errors and the README.
    pub fn describe(&self) -> String {
        match self {
            Ty::Bool => "a boolean".into(),
            Ty::Str(_) => "a string".into(),
            Ty::OneOf(allowed) => format!("one of {}", quoted(&(allowed.all)())),
            Ty::Strings(_) => "an array of strings".into(),
            Ty::ListOf(allowed) => format!("an array of {}", quoted(&(allowed.all)())),
            Ty::StrOrStrings(..) => "a string or an array of strings".into(),
            Ty::OneOrListOf(allowed) => {
                format!("{}, or an array of them", quoted(&(allowed.all)()))
            }
            Ty::BoolOrListOf(allowed) => {
                format!("a boolean or an array of {}", quoted(&(allowed.all)()))
            }
            Ty::MapOfStrings => "a table of arrays of strings".into(),
            Ty::MapOfStr => "a table of strings".into(),
            Ty::Shaped(text, _) => (*text).into(),
        }
    }

    /// The allowed words of an enumerated type.
    pub fn words(&self) -> Option<Vec<&'static str>> {
        match self {
            Ty::OneOf(w) | Ty::ListOf(w) | Ty::OneOrListOf(w) | Ty::BoolOrListOf(w) => {
                Some((w.all)())
            }
            _ => None,
        }
    }

    /// The allowed words that change nothing yet.
    pub fn not_acted_words(&self) -> Vec<&'static str> {
        match self {
            Ty::OneOf(w) | Ty::ListOf(w) | Ty::OneOrListOf(w) | Ty::BoolOrListOf(w) => {
                (w.not_acted)()
            }
            _ => Vec::new(),
        }
    }

    /// The TOML type alone (no allowed values), for wrong-type errors.
    fn type_text(&self) -> String {
        match self {
            Ty::OneOf(_) => "a string".into(),
            Ty::ListOf(_) => "an array of strings".into(),
            Ty::OneOrListOf(_) => "a string or an array of strings".into(),
            Ty::BoolOrListOf(_) => "a boolean or an array of strings".into(),
            other => other.describe(),
        }
    }

    /// Checks `v`; unknown fields inside shaped tables go to `unknown` as dotted paths.
    pub fn check(&self, v: &Value, unknown: &mut Vec<String>) -> Result<(), Mismatch> {
        let wrong = || Mismatch::Type {
            expected: self.type_text(),
        };
        match self {
            Ty::Bool => v.as_bool().map(drop).ok_or_else(wrong),
            Ty::Str(check) => checked(v.as_str().ok_or_else(wrong)?, *check),
            Ty::OneOf(allowed) => one_of(v.as_str().ok_or_else(wrong)?, &(allowed.all)()),
            Ty::Strings(check) => {
                for s in strings(v).ok_or_else(wrong)? {
                    checked(s, *check)?;
                }
                Ok(())
            }
            Ty::ListOf(allowed) => {
                for s in strings(v).ok_or_else(wrong)? {
                    one_of(s, &(allowed.all)())?;
                }
                Ok(())
            }
            Ty::StrOrStrings(check, whole) => {
                let list = one_or_list(v).ok_or_else(wrong)?;
                for s in &list {
                    checked(s, *check)?;
                }
                match whole {
                    Some(f) => f(&list).map_err(|expected| Mismatch::Value {
                        value: clipped(v.to_string(), 60),
                        expected: clipped(expected, 400),
                    }),
                    None => Ok(()),
                }
            }
            Ty::OneOrListOf(allowed) => {
                for s in one_or_list(v).ok_or_else(wrong)? {
                    one_of(s, &(allowed.all)())?;
                }
                Ok(())
            }
            Ty::BoolOrListOf(allowed) => match v {
                Value::Bool(_) => Ok(()),
                _ => {
                    for s in strings(v).ok_or_else(wrong)? {
                        one_of(s, &(allowed.all)())?;
                    }
                    Ok(())
                }
            },
            Ty::MapOfStrings => {
                let map = v.as_object().ok_or_else(wrong)?;
                for (k, item) in map {
                    if strings(item).is_none() {
                        return Err(Mismatch::Shape(format!(
                            "`{k}` must be an array of strings, found {}",
                            describe(item)
                        )));
                    }
                }
                Ok(())
            }
            Ty::MapOfStr => {
                let map = v.as_object().ok_or_else(wrong)?;
                for (k, item) in map {
                    if !item.is_string() {
                        return Err(Mismatch::Shape(format!(
                            "`{k}` must be a string, found {}",
                            describe(item)
                        )));
                    }
                }
                Ok(())
            }
            Ty::Shaped(_, check) => {
                if !v.is_object() && !v.is_array() {
                    return Err(wrong());
                }
                check(v, unknown).map_err(Mismatch::Shape)
            }
        }
    }
}

fn checked(s: &str, check: Option<Check>) -> Result<(), Mismatch> {
    match check {
        Some(f) => f(s).map_err(|expected| Mismatch::Value {
            value: shown(s),
            // A check may quote the value back.
            expected: clipped(expected, 400),
        }),
        None => Ok(()),
    }
}

fn one_of(s: &str, allowed: &[&str]) -> Result<(), Mismatch> {
    if allowed.contains(&s) {
        Ok(())
    } else {
        Err(Mismatch::Value {
            value: shown(s),
            expected: format!("one of {}", quoted(allowed)),
        })
    }
}

/// A string alone or the strings of an array; `None` for anything else.
fn one_or_list(v: &Value) -> Option<Vec<&str>> {
    match v {
        Value::String(s) => Some(vec![s.as_str()]),
        _ => strings(v),
    }
}

/// The strings of an array of strings; `None` for anything else.
pub fn strings(v: &Value) -> Option<Vec<&str>> {
    v.as_array()?.iter().map(Value::as_str).collect()
}

/// A string, or the strings of an array (the `StrOrStrings` forms), owned.
pub fn string_list(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        _ => strings(v)
            .unwrap_or_default()
            .into_iter()
            .map(str::to_string)
            .collect(),
    }
}

pub fn quoted(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {}", shown(s)),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "a table".into(),
    }
}

/// A config string as an error shows it: quoted, and cut short when long (an error must stay
/// readable whatever a file holds).
pub fn shown(s: &str) -> String {
    clipped(format!("{s:?}"), 60)
}

/// `text`, its first `keep` characters when much longer.
fn clipped(text: String, keep: usize) -> String {
    let count = text.chars().count();
    if count <= keep + 20 {
        return text;
    }
    let head: String = text.chars().take(keep).collect();
    format!("{head}… ({count} characters)")
}

/// Helpers for [`Ty::Shaped`] checks: each names the path of what is wrong.
pub mod shape {
    use super::{describe, strings};
    use serde_json::{Map, Value};

    pub fn table<'a>(path: &str, v: &'a Value) -> Result<&'a Map<String, Value>, String> {
        v.as_object()
            .ok_or_else(|| format!("`{path}` must be a table, found {}", describe(v)))
    }

    pub fn string(path: &str, v: &Value) -> Result<(), String> {
        v.as_str()
            .map(drop)
            .ok_or_else(|| format!("`{path}` must be a string, found {}", describe(v)))
    }

    pub fn string_array(path: &str, v: &Value) -> Result<(), String> {
        strings(v).map(drop).ok_or_else(|| {
            format!(
                "`{path}` must be an array of strings, found {}",
                describe(v)
            )
        })
    }

    /// Keys of `t` outside `known` go to `unknown` (a newer release tool may know them).
    pub fn only(path: &str, t: &Map<String, Value>, known: &[&str], unknown: &mut Vec<String>) {
        unknown.extend(
            t.keys()
                .filter(|k| !known.contains(&k.as_str()))
                .map(|k| format!("{path}.{k}")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shorthands_and_lists_both_fit() {
        let words = |all| Words {
            all,
            not_acted: Vec::new,
        };
        let ci = Ty::OneOrListOf(words(|| vec!["github"]));
        assert!(ci.check(&json!("github"), &mut Vec::new()).is_ok());
        assert!(ci.check(&json!(["github"]), &mut Vec::new()).is_ok());
        assert_eq!(
            ci.check(&json!("gitlab"), &mut Vec::new()),
            Err(Mismatch::Value {
                value: "\"gitlab\"".into(),
                expected: "one of \"github\"".into()
            })
        );
        assert_eq!(
            ci.check(&json!(true), &mut Vec::new()),
            Err(Mismatch::Type {
                expected: "a string or an array of strings".into()
            })
        );
        let dirty = Ty::BoolOrListOf(words(|| vec!["ci", "msi"]));
        assert!(dirty.check(&json!(true), &mut Vec::new()).is_ok());
        assert!(dirty.check(&json!([]), &mut Vec::new()).is_ok());
        assert!(dirty.check(&json!(["ci"]), &mut Vec::new()).is_ok());
        assert!(dirty.check(&json!("ci"), &mut Vec::new()).is_err());
    }

    #[test]
    fn maps_name_the_bad_entry() {
        let e = Ty::MapOfStrings
            .check(&json!({"fpl": "forgeplan"}), &mut Vec::new())
            .unwrap_err();
        assert_eq!(
            e,
            Mismatch::Shape(
                "`fpl` must be an array of strings, found the string \"forgeplan\"".into()
            )
        );
    }
}
