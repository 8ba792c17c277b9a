//! Login names as people type them and as vestibule compares them.
//!
//! A name is looked up, and its failed-login budget kept, in its normal form: Unicode NFKC
//! (full-width letters become ASCII, a no-break or ideographic space becomes a space), white space
//! trimmed at both ends and every inner run of it made one space — the way an LDAP directory
//! matches `uid` (RFC 4518's insignificant-space handling) and the way people expect a name to
//! match. The budget's key is that form case-folded (user names are compared without case
//! everywhere in vestibule, as in the directory's `caseIgnoreMatch`).

use std::borrow::Cow;

use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

/// `name` in its normal form: NFKC, trimmed, inner white space collapsed to one space. Borrows
/// when the name is already normal (the common case: a plain ASCII name).
pub fn normalize(name: &str) -> Cow<'_, str> {
    let nfkc: Cow<'_, str> = match is_nfkc_quick(name.chars()) {
        IsNormalized::Yes => Cow::Borrowed(name),
        _ => Cow::Owned(name.nfkc().collect()),
    };
    if is_collapsed(&nfkc) {
        return nfkc;
    }
    let mut out = String::with_capacity(nfkc.len());
    for word in nfkc.split(char::is_whitespace).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    Cow::Owned(out)
}

/// The key a name's failed-login budget and lock are kept under: its normal form, case-folded.
pub fn account_key(name: &str) -> String {
    normalize(name).to_lowercase()
}

/// No white space at either end, and only single spaces inside.
fn is_collapsed(s: &str) -> bool {
    let mut prev_space = true;
    for c in s.chars() {
        if c.is_whitespace() {
            if prev_space || c != ' ' {
                return false;
            }
            prev_space = true;
        } else {
            prev_space = false;
        }
    }
    !prev_space || s.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_people_type_have_one_key() {
        for typed in [
            "alice",
            " alice",
            "alice  ",
            "\talice\n",
            "ａlice",
            "ＡＬＩＣＥ",
            "\u{00a0}alice",
            "alice\u{3000}",
            "Alice",
        ] {
            assert_eq!(account_key(typed), "alice", "{typed:?}");
        }
        assert_eq!(normalize("Ann  \u{00a0} Lee"), "Ann Lee");
        assert_eq!(account_key("ANN\u{3000}LEE"), "ann lee");
    }

    #[test]
    fn normal_names_are_borrowed() {
        assert!(matches!(normalize("bob.smith"), Cow::Borrowed(_)));
        assert!(matches!(normalize("ann lee"), Cow::Borrowed(_)));
        assert!(matches!(normalize("josé"), Cow::Borrowed(_)));
        assert_eq!(normalize(""), "");
        assert_eq!(normalize("   "), "");
    }

    #[test]
    fn distinct_names_stay_distinct() {
        assert_ne!(account_key("alice"), account_key("alice2"));
        assert_ne!(account_key("a lice"), account_key("alice"));
    }
}
