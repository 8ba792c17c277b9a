//! A presented credential: a token and the session cookies that came with it.
//!
//! A request's credential is hashed once and looked up once. The store decides on the cookie
//! inside the same operation that marks the session active ([`Admission`]), so a session is
//! extended only by a request that was allowed to use it.

use crate::secret::{CookieTag, SecretHash};

/// The most session cookies of one request that are looked at: a client logged in under two
/// cookie paths sends two, and a few more are tolerated.
pub const MAX_COOKIES: usize = 4;

/// Which cookies let a request use a session that was issued with one.
///
/// A session bound to a cookie (its `cookie` tag) is admitted when one of the presented cookies
/// has that tag, or the token stands for its own cookie and is it; otherwise only when
/// [`Admission::without_cookie`] is set. A session issued without a cookie is always admitted.
/// Cookies are hashed only when a bound session is found, so a token without a cookie (a bearer
/// token) costs no hashing here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission<'a> {
    cookies: [&'a str; MAX_COOKIES],
    len: usize,
    /// The token's hash, when the token stands for its own cookie.
    token: Option<SecretHash>,
    /// Whether a session bound to a cookie may be used without its cookie.
    pub without_cookie: bool,
}

impl<'a> Admission<'a> {
    /// Admits every session, whatever its cookie: for the server's own look-ups (not a client's).
    pub const ANY: Admission<'static> = Admission {
        cookies: [""; MAX_COOKIES],
        len: 0,
        token: None,
        without_cookie: true,
    };

    /// The tags of the cookies that admit a bound session.
    pub fn cookie_tags(&self) -> impl Iterator<Item = CookieTag> + '_ {
        self.cookies[..self.len]
            .iter()
            .map(|c| CookieTag::of(c))
            .chain(self.token.as_ref().map(CookieTag::of_hash))
    }

    /// Whether a session bound to the cookie tagged `bound` is admitted.
    pub fn admits(&self, bound: Option<&CookieTag>) -> bool {
        match bound {
            None => true,
            Some(b) => {
                self.without_cookie
                    || self.token.is_some_and(|t| CookieTag::of_hash(&t).ct_eq(b))
                    || self.cookies[..self.len].iter().any(|c| CookieTag::of(c).ct_eq(b))
            }
        }
    }
}

/// How cookies that belong to no session of this token are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForeignCookies {
    /// A cookie that is not the session's refuses the request: the token was bound to a cookie
    /// and the request brought another.
    Refuse,
    /// Such a cookie is ignored, as if none had come (a bearer token travelling beside the
    /// cookie of another session in the same browser).
    Ignore,
}

/// A token as a request presented it, with the session cookies that came with it.
#[derive(Debug, Clone)]
pub struct Credential<'a> {
    token: &'a str,
    hash: SecretHash,
    cookies: Admission<'a>,
    presented_cookies: bool,
    foreign: ForeignCookies,
}

impl<'a> Credential<'a> {
    /// A token (surrounding white space is not part of it), with no cookie so far.
    pub fn new(token: &'a str) -> Credential<'a> {
        let token = token.trim();
        Credential {
            token,
            hash: SecretHash::of(token),
            cookies: Admission {
                without_cookie: false,
                ..Admission::ANY
            },
            presented_cookies: false,
            foreign: ForeignCookies::Refuse,
        }
    }

    /// A cookie that is itself its session's token (a cookie session), presented on its own.
    pub fn cookie(value: &'a str) -> Credential<'a> {
        let mut c = Credential::new(value).token_is_cookie();
        c.presented_cookies = true;
        c
    }

    /// Adds the cookies that came with the token (at most [`MAX_COOKIES`] are kept).
    pub fn with_cookies<I: IntoIterator<Item = &'a str>>(mut self, cookies: I) -> Self {
        for c in cookies.into_iter() {
            if self.cookies.len == MAX_COOKIES {
                break;
            }
            self.cookies.cookies[self.cookies.len] = c;
            self.cookies.len += 1;
            self.presented_cookies = true;
        }
        self
    }

    /// The token also stands for its own cookie: a session whose cookie is its token (a cookie
    /// session) is admitted by the token alone.
    pub fn token_is_cookie(mut self) -> Self {
        self.cookies.token = Some(self.hash);
        self
    }

    /// How cookies of no session of this token are taken (by default they refuse).
    pub fn foreign_cookies(mut self, foreign: ForeignCookies) -> Self {
        self.foreign = foreign;
        self
    }

    /// The token as presented.
    pub fn token(&self) -> &'a str {
        self.token
    }

    /// The token's hash: the key its session is stored under.
    pub fn hash(&self) -> &SecretHash {
        &self.hash
    }

    /// Whether the request carried cookies.
    pub fn has_cookies(&self) -> bool {
        self.presented_cookies
    }

    /// Whether the token is plausible at all (a look-up with an empty or huge token is skipped).
    pub fn is_plausible(&self) -> bool {
        !self.token.is_empty() && self.token.len() <= 512
    }

    /// What the store is to admit, given whether a bound session may go without its cookie
    /// (`session.require_cookie` off).
    pub fn admission(&self, cookie_optional: bool) -> Admission<'a> {
        let mut a = self.cookies;
        a.without_cookie =
            cookie_optional && (!self.presented_cookies || self.foreign == ForeignCookies::Ignore);
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(s: &str) -> CookieTag {
        CookieTag::of(s)
    }

    #[test]
    fn unbound_sessions_are_always_admitted() {
        let c = Credential::new("t").with_cookies(["x"]);
        assert!(c.admission(false).admits(None));
    }

    #[test]
    fn the_bound_cookie_admits_among_several() {
        let c = Credential::new("t").with_cookies(["a", "b", "c"]);
        assert!(c.admission(false).admits(Some(&bound("b"))));
        assert!(!c.admission(false).admits(Some(&bound("d"))));
    }

    #[test]
    fn a_wrong_cookie_refuses_even_when_cookies_are_optional() {
        let c = Credential::new("t").with_cookies(["a"]);
        assert!(!c.admission(true).admits(Some(&bound("z"))));
        // ...unless foreign cookies are to be ignored.
        let c = c.foreign_cookies(ForeignCookies::Ignore);
        assert!(c.admission(true).admits(Some(&bound("z"))));
        assert!(!c.admission(false).admits(Some(&bound("z"))));
    }

    #[test]
    fn no_cookie_is_enough_only_when_cookies_are_optional() {
        let c = Credential::new("t");
        assert!(c.admission(true).admits(Some(&bound("z"))));
        assert!(!c.admission(false).admits(Some(&bound("z"))));
    }

    #[test]
    fn a_token_can_be_its_own_cookie() {
        let c = Credential::new(" tok ").token_is_cookie();
        assert_eq!(c.token(), "tok");
        assert!(c.admission(false).admits(Some(&bound("tok"))));
        assert!(!c.has_cookies());
    }

    #[test]
    fn a_cookie_on_its_own_opens_only_its_own_session() {
        let c = Credential::cookie("tok");
        assert!(c.admission(true).admits(Some(&bound("tok"))));
        assert!(!c.admission(true).admits(Some(&bound("other"))));
        assert!(c.has_cookies());
    }

    #[test]
    fn extra_cookies_are_not_kept() {
        let c = Credential::new("t").with_cookies(["a", "b", "c", "d", "e"]);
        assert_eq!(c.admission(false).cookie_tags().count(), MAX_COOKIES);
        assert!(!c.admission(false).admits(Some(&bound("e"))));
        // The token still fits beside the most cookies.
        let c = c.token_is_cookie();
        assert!(c.admission(false).admits(Some(&bound("t"))));
    }
}
