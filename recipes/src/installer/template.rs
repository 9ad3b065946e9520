//! The template environment shared by the text installers: strict about undefined values, no
//! auto-escaping, and a quoting filter per target language so templates never quote by hand.

use minijinja::{Environment, UndefinedBehavior, Value};

use super::InstallerError;

/// Renders one of the embedded templates with `ctx`.
pub(crate) fn render(
    name: &'static str,
    source: &'static str,
    ctx: Value,
) -> Result<String, InstallerError> {
    let wrap = |source| InstallerError::Template { name, source };
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.add_filter("sh", |s: String| sh_quote(&s));
    env.add_filter("ps", |s: String| ps_quote(&s));
    env.add_filter("rb", |s: String| rb_quote(&s));
    env.add_template(name, source).map_err(wrap)?;
    env.get_template(name)
        .map_err(wrap)?
        .render(ctx)
        .map_err(wrap)
}

/// POSIX sh single-quoted word.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// PowerShell single-quoted (verbatim) string: only `'` needs doubling.
pub(crate) fn ps_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Ruby double-quoted string with interpolation disabled.
pub(crate) fn rb_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' | '#' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(ps_quote("it's"), "'it''s'");
        assert_eq!(rb_quote(r#"a "b" #{x} \"#), r#""a \"b\" \#{x} \\""#);
    }
}
