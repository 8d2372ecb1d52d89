//! `${VAR}` and `${VAR:-default}` in config values, read from the environment at load;
//! `${file:PATH}`, a file's content, so a secret need live neither in the config nor in
//! the environment.

/// Replaces every `${VAR}` / `${VAR:-default}`; `$$` is a literal `$`. An unset
/// variable without a default is an error naming it: never a silent empty string.
/// The first `${NAME}` in `text` written without a default, if any.
pub fn first_without_default(text: &str) -> Option<&str> {
    text.match_indices("${").find_map(|(at, _)| {
        let inner = &text[at + 2..];
        let expr = &inner[..inner.find('}')?];
        (!expr.contains(":-")).then_some(expr)
    })
}

/// What a `${...}` names.
pub enum Reference<'a> {
    Variable(&'a str),
    File(&'a str),
}

pub fn interpolate(
    text: &str,
    lookup: impl Fn(Reference) -> Result<Option<String>, String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        }
        let Some(inner) = after.strip_prefix('{') else {
            out.push('$');
            rest = after;
            continue;
        };
        let Some(close) = inner.find('}') else {
            return Err(format!("`${{` without a closing `}}` in `{text}`"));
        };
        let expr = &inner[..close];
        if let Some(path) = expr.strip_prefix("file:") {
            let content = lookup(Reference::File(path))?.unwrap_or_default();
            // Files written by `echo` or an editor end in a newline that is no part of it.
            out.push_str(content.strip_suffix('\n').unwrap_or(&content));
            rest = &inner[close + 1..];
            continue;
        }
        let (name, default) = match expr.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (expr, None),
        };
        if !is_name(name) {
            return Err(format!(
                "`${{{expr}}}` is not a variable: names are letters, digits and `_`"
            ));
        }
        match (lookup(Reference::Variable(name))?, default) {
            (Some(value), _) => out.push_str(&value),
            (None, Some(default)) => out.push_str(default),
            (None, None) => {
                return Err(format!(
                    "environment variable {name} is not set (set it, or write ${{{name}:-default}})"
                ))
            }
        }
        rest = &inner[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(reference: Reference) -> Result<Option<String>, String> {
        Ok(match reference {
            Reference::Variable(name) => (name == "SET").then(|| "value".to_string()),
            Reference::File("secret.txt") => Some("s3cret\n".to_string()),
            Reference::File(path) => return Err(format!("cannot read {path}")),
        })
    }

    #[test]
    fn a_file_gives_its_content_without_the_final_newline() {
        assert_eq!(interpolate("${file:secret.txt}", env).unwrap(), "s3cret");
        assert_eq!(
            interpolate("${file:nowhere}", env).unwrap_err(),
            "cannot read nowhere"
        );
    }

    #[test]
    fn substitutes_defaults_and_literals() {
        assert_eq!(interpolate("a ${SET} b", env).unwrap(), "a value b");
        assert_eq!(interpolate("${UNSET:-fallback}", env).unwrap(), "fallback");
        assert_eq!(interpolate("${UNSET:-}", env).unwrap(), "");
        assert_eq!(interpolate("${SET:-x}", env).unwrap(), "value");
        assert_eq!(
            interpolate("cost $$5 and $x", env).unwrap(),
            "cost $5 and $x"
        );
    }

    #[test]
    fn unset_without_default_names_the_variable() {
        let err = interpolate("${CHIME_WEBHOOK_URL}", env).unwrap_err();
        assert!(err.contains("CHIME_WEBHOOK_URL is not set"), "{err}");
        assert!(interpolate("${BAD NAME}", env).is_err());
        assert!(interpolate("${OPEN", env).is_err());
    }
}
