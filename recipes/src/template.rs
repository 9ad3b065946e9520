//! The template environment shared by the installers and the CI workflow: strict about undefined
//! values, no auto-escaping, and a quoting filter per target language so templates never quote
//! by hand.

use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, UndefinedBehavior, Value};

/// For YAML that holds GitHub expressions (`${{ ... }}`) and shell (`${#x}`): values are
/// `<< x >>`, comments `<# ... #>`; blocks stay `{% ... %}`.
pub(crate) fn workflow_syntax() -> SyntaxConfig {
    SyntaxConfig::builder()
        .variable_delimiters("<<", ">>")
        .comment_delimiters("<#", "#>")
        .build()
        .expect("fixed, distinct delimiters")
}

/// Renders one of the embedded templates with `ctx`, in `syntax`.
pub(crate) fn render(
    name: &'static str,
    source: &'static str,
    syntax: SyntaxConfig,
    ctx: Value,
) -> Result<String, minijinja::Error> {
    let mut env = Environment::new();
    env.set_syntax(syntax);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.add_filter("sh", |s: String| sh_quote(&s));
    env.add_filter("ps", |s: String| ps_quote(&s));
    env.add_filter("rb", |s: String| rb_quote(&s));
    env.add_filter("yaml_sq", |s: String| yaml_sq(&s));
    env.add_filter("yaml_dq", |s: String| yaml_dq(&s));
    env.add_filter("yaml_plain", |s: String| yaml_plain(&s));
    env.add_filter("xml", |s: String| xml_escape(&s));
    env.add_template(name, source)?;
    env.get_template(name)?.render(ctx)
}

/// XML text or attribute value (double-quoted attributes).
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
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

/// YAML single-quoted scalar: only `'` needs doubling.
pub(crate) fn yaml_sq(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// YAML double-quoted scalar (`\\` and `"` escaped; control characters as JSON writes them).
pub(crate) fn yaml_dq(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// A plain YAML scalar when it is one (runner labels), else single-quoted.
pub(crate) fn yaml_plain(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        s.to_string()
    } else {
        yaml_sq(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(ps_quote("it's"), "'it''s'");
        assert_eq!(rb_quote(r#"a "b" #{x} \"#), r#""a \"b\" \#{x} \\""#);
        assert_eq!(yaml_sq("it's"), "'it''s'");
        assert_eq!(yaml_dq(r#"a"b\"#), r#""a\"b\\""#);
        assert_eq!(yaml_plain("ubuntu-24.04"), "ubuntu-24.04");
        assert_eq!(yaml_plain("a: b"), "'a: b'");
    }
}
