//! Bearer-token protection of the power server: where the token comes from, when one is
//! required, and checking a request's `Authorization` header.

use std::net::SocketAddr;
use std::path::Path;

use super::ServeError;

/// A bearer token clients must present. Its `Debug` hides the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// A token read from a file, with a warning when the file is readable by others.
#[derive(Debug)]
pub struct LoadedToken {
    /// The token.
    pub token: Token,
    /// Set when the file's permissions let group or others read it.
    pub warning: Option<String>,
}

impl Token {
    /// A token from text (surrounding blanks and line ends trimmed); empty is an error naming
    /// `origin`.
    pub fn new(text: &str, origin: &str) -> Result<Self, ServeError> {
        let token = text.trim();
        if token.is_empty() {
            return Err(ServeError::EmptyToken {
                origin: origin.to_string(),
            });
        }
        Ok(Self(token.to_string()))
    }

    /// The token in `path` (its first line, trimmed), warning when group or others may read
    /// the file.
    pub fn from_file(path: &Path) -> Result<LoadedToken, ServeError> {
        let text = std::fs::read_to_string(path).map_err(|source| ServeError::TokenFile {
            path: path.to_path_buf(),
            source,
        })?;
        let first = text.lines().next().unwrap_or("");
        let token = Self::new(first, &format!("file {}", path.display()))?;
        Ok(LoadedToken {
            token,
            warning: file_mode(path).and_then(|mode| permissions_warning(path, mode)),
        })
    }

    /// The token's text, for a client to send.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `presented` is this token, in time independent of where they differ (so that
    /// response times do not reveal how much of a guess was right).
    pub fn matches(&self, presented: &str) -> bool {
        constant_time_eq(self.0.as_bytes(), presented.as_bytes())
    }
}

/// Equality that reads every byte of the longer input whatever the contents.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    std::hint::black_box(diff) == 0
}

#[cfg(unix)]
fn file_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).ok().map(|m| m.permissions().mode())
}

#[cfg(not(unix))]
fn file_mode(_path: &Path) -> Option<u32> {
    None
}

/// The warning for a token file of unix `mode`, if group or others have any access to it.
pub fn permissions_warning(path: &Path, mode: u32) -> Option<String> {
    (mode & 0o077 != 0).then(|| {
        format!(
            "the token file {} has mode {:03o}: other users can read it; run `chmod 600 {}`",
            path.display(),
            mode & 0o777,
            path.display()
        )
    })
}

/// Refuse a non-loopback address without a token: the power draw of a machine tells what it
/// is doing, and a node's endpoint is reachable from the whole network.
pub fn require_token_off_loopback(
    addr: &SocketAddr,
    token: Option<&Token>,
) -> Result<(), ServeError> {
    if token.is_none() && !addr.ip().is_loopback() {
        return Err(ServeError::TokenRequired {
            addr: addr.to_string(),
        });
    }
    Ok(())
}

/// Why a request was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No `Authorization` header, or not a bearer one.
    Missing,
    /// A bearer token that is not the server's.
    Wrong,
}

impl Refusal {
    /// The 401 body: what was wrong and what to send.
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Missing => {
                "missing bearer token: send `Authorization: Bearer <token>` with the server's token"
            }
            Refusal::Wrong => "wrong bearer token: it is not the one this server was started with",
        }
    }
}

/// Check a request's `Authorization` header value against `token` (none: every request
/// passes).
pub fn check(token: Option<&Token>, authorization: Option<&str>) -> Result<(), Refusal> {
    let Some(token) = token else { return Ok(()) };
    let presented = authorization
        .map(str::trim)
        .and_then(|value| {
            // The scheme is case-insensitive (RFC 9110 §11.1).
            let (scheme, rest) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .ok_or(Refusal::Missing)?;
    if token.matches(presented) {
        Ok(())
    } else {
        Err(Refusal::Wrong)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> Token {
        Token::new("s3cret-token\n", "test").unwrap()
    }

    #[test]
    fn requests_need_the_right_bearer_token() {
        let t = token();
        assert_eq!(check(Some(&t), None), Err(Refusal::Missing));
        assert_eq!(
            check(Some(&t), Some("Basic czNjcmV0")),
            Err(Refusal::Missing)
        );
        assert_eq!(check(Some(&t), Some("Bearer nope")), Err(Refusal::Wrong));
        assert_eq!(
            check(Some(&t), Some("Bearer s3cret-tokem")),
            Err(Refusal::Wrong)
        );
        assert_eq!(
            check(Some(&t), Some("Bearer s3cret-token-and-more")),
            Err(Refusal::Wrong)
        );
        assert_eq!(check(Some(&t), Some("Bearer s3cret-token")), Ok(()));
        assert_eq!(check(Some(&t), Some("bearer  s3cret-token ")), Ok(()));
        assert_eq!(check(None, None), Ok(()), "no token, no check");
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
    }

    #[test]
    fn non_loopback_needs_a_token() {
        let public: SocketAddr = "0.0.0.0:9464".parse().unwrap();
        let err = require_token_off_loopback(&public, None).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("0.0.0.0:9464") && text.contains("--token-file"),
            "{text}"
        );
        assert!(text.contains("BENCH_POWER_TOKEN"), "{text}");
        assert!(require_token_off_loopback(&public, Some(&token())).is_ok());
        for local in ["127.0.0.1:9464", "[::1]:9464"] {
            assert!(require_token_off_loopback(&local.parse().unwrap(), None).is_ok());
        }
    }

    #[test]
    fn token_files_are_trimmed_checked_and_warned_about() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "  abc123  \nsecond line ignored\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let loaded = Token::from_file(&path).unwrap();
            assert_eq!(loaded.token.expose(), "abc123");
            let warning = loaded.warning.expect("a warning for mode 644");
            assert!(
                warning.contains("644") && warning.contains("chmod 600"),
                "{warning}"
            );
            assert!(warning.contains(&path.display().to_string()), "{warning}");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            assert!(Token::from_file(&path).unwrap().warning.is_none());
        }
        std::fs::write(&path, "\n").unwrap();
        let err = Token::from_file(&path).unwrap_err();
        assert!(matches!(err, ServeError::EmptyToken { .. }), "{err}");
        assert!(err.to_string().contains("is empty"), "{err}");
        let missing = Token::from_file(&dir.path().join("none")).unwrap_err();
        assert!(matches!(missing, ServeError::TokenFile { .. }), "{missing}");
        assert_eq!(format!("{:?}", token()), "Token(<redacted>)");
    }

    #[test]
    fn the_warning_is_for_group_or_other_access_only() {
        let p = Path::new("/t");
        assert!(permissions_warning(p, 0o100600).is_none());
        assert!(permissions_warning(p, 0o100400).is_none());
        assert!(permissions_warning(p, 0o100640).is_some());
        assert!(permissions_warning(p, 0o100604).is_some());
    }
}
