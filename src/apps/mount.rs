//! The prefix router, [`Mount`] (its rules are on the type, since this
//! module is private and the type is re-exported from [`apps`](crate::apps)).
#![forbid(unsafe_code)]

use crate::gateway::{AppResult, Application, Body, Environ, StartResponse, headers};

/// Applications mounted at path prefixes: each request goes to the
/// application mounted at the longest prefix that matches it, with that
/// prefix moved from `PATH_INFO` to `SCRIPT_NAME`, as PEP 3333 middleware
/// should.
///
/// A prefix matches whole path segments: `/api` matches `/api` and
/// `/api/users`, never `/apix`. After the move, `SCRIPT_NAME + PATH_INFO` is
/// still the path the client asked for, so the inner application builds its
/// links from `SCRIPT_NAME` and finds its own routes in `PATH_INFO`, whatever
/// it is mounted under. When no prefix matches, the answer is a plain-text
/// `404 Not Found`, or the [`fallback`](Mount::fallback) application.
///
/// The matching runs on the decoded `PATH_INFO`, so `/a%70i` is `/api`, and
/// so is `/api%2Fx`'s first segment (`%2F` decodes to `/`; WSGI cannot tell
/// the two apart). Nor is the path normalised beyond what the server does
/// (it collapses leading slashes, `//api` is `/api`): `/./api` matches no
/// prefix but `/`, and `/api/../x` goes to `/api`, which must refuse `..` as
/// it would anywhere (a proxy in front normally cleans such paths).
///
/// ```
/// use waitress::apps::{Mount, echo, hello};
/// use waitress::gateway::testing::TestRequest;
///
/// let app = Mount::new().at("/hello", hello).at("/echo", echo);
///
/// let response = TestRequest::get("/echo/environ").call(&app).unwrap();
/// assert!(response.text().contains("SCRIPT_NAME: /echo\n"));
/// assert!(response.text().contains("PATH_INFO: /environ\n"));
///
/// assert_eq!(TestRequest::get("/hellox").call(&app).unwrap().status_code(), 404);
/// ```
pub struct Mount {
    /// `(prefix, application)`, longest prefix first. A prefix is `""` (the
    /// root) or `/a/b` without a trailing slash, one `char` per byte like
    /// `PATH_INFO`.
    routes: Vec<(String, Box<dyn Application>)>,
    fallback: Option<Box<dyn Application>>,
}

impl Mount {
    /// A router with no routes: every request gets a `404`.
    ///
    /// ```
    /// use waitress::gateway::testing::TestRequest;
    /// let empty = waitress::apps::Mount::new();
    /// assert_eq!(TestRequest::get("/").call(&empty).unwrap().status_code(), 404);
    /// ```
    pub fn new() -> Mount {
        Mount {
            routes: Vec::new(),
            fallback: None,
        }
    }

    /// Mounts `app` at `prefix`. Slashes are fixed as for `url_prefix`:
    /// `api`, `/api` and `/api/` are the same prefix; `/` (or `""`) is the
    /// root, which matches every path and moves nothing. The prefix is a
    /// decoded path (`/café`, not `/caf%C3%A9`). Mounting at a prefix that
    /// is already mounted replaces its application.
    ///
    /// ```
    /// use waitress::apps::{Mount, echo, hello};
    /// use waitress::gateway::testing::TestRequest;
    ///
    /// let app = Mount::new().at("/", hello).at("api/", echo);
    /// let api = TestRequest::get("/api/environ").call(&app).unwrap();
    /// assert!(api.text().contains("SCRIPT_NAME: /api\n"));
    /// assert_eq!(TestRequest::get("/other").call(&app).unwrap().text(), "Hello, world!");
    /// ```
    pub fn at(mut self, prefix: &str, app: impl Application) -> Mount {
        let prefix = normalise(prefix);
        self.routes.retain(|(existing, _)| *existing != prefix);
        let position = self
            .routes
            .iter()
            .position(|(existing, _)| existing.len() < prefix.len())
            .unwrap_or(self.routes.len());
        self.routes.insert(position, (prefix, Box::new(app)));
        self
    }

    /// Sends the requests that match no prefix to `app`, unchanged, instead
    /// of answering `404`.
    ///
    /// ```
    /// use waitress::apps::{Mount, echo, hello};
    /// use waitress::gateway::testing::TestRequest;
    ///
    /// let app = Mount::new().at("/echo", echo).fallback(hello);
    /// assert_eq!(TestRequest::get("/anything").call(&app).unwrap().text(), "Hello, world!");
    /// ```
    pub fn fallback(mut self, app: impl Application) -> Mount {
        self.fallback = Some(Box::new(app));
        self
    }

    /// The prefixes mounted, longest first (the order they are tried in),
    /// as normalised by [`at`](Mount::at).
    ///
    /// ```
    /// use waitress::apps::{Mount, hello};
    /// let app = Mount::new().at("/", hello).at("/a/", hello).at("a/b", hello);
    /// assert_eq!(app.prefixes().collect::<Vec<_>>(), ["/a/b", "/a", ""]);
    /// ```
    pub fn prefixes(&self) -> impl Iterator<Item = &str> {
        self.routes.iter().map(|(prefix, _)| prefix.as_str())
    }
}

impl Default for Mount {
    fn default() -> Mount {
        Mount::new()
    }
}

impl std::fmt::Debug for Mount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mount")
            .field("prefixes", &self.prefixes().collect::<Vec<_>>())
            .field("fallback", &self.fallback.is_some())
            .finish()
    }
}

// ANCHOR: mount
impl Application for Mount {
    fn call(&self, environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        let path = environ.path_info();
        let Some((prefix, app)) = self
            .routes
            .iter()
            .find(|(prefix, _)| matches_segments(path, prefix))
        else {
            return match &self.fallback {
                Some(app) => app.call(environ, start_response),
                None => not_found(start_response),
            };
        };
        if !prefix.is_empty() {
            let rest = path[prefix.len()..].to_string();
            let mut script_name = environ.get("SCRIPT_NAME").unwrap_or("").to_string();
            script_name.push_str(prefix);
            environ.insert("SCRIPT_NAME", script_name);
            environ.insert("PATH_INFO", rest);
        }
        app.call(environ, start_response)
    }
}

/// Whether `prefix` is `path` or a run of `path`'s leading whole segments.
fn matches_segments(path: &str, prefix: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => prefix.is_empty() || rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}
// ANCHOR_END: mount

/// `api/` → `/api`, `/` → `""`; UTF-8 → one `char` per byte, as `PATH_INFO`.
fn normalise(prefix: &str) -> String {
    let trimmed = prefix.trim_matches('/');
    if trimmed.is_empty() {
        return String::new();
    }
    let mut normalised = String::with_capacity(trimmed.len() + 1);
    normalised.push('/');
    normalised.extend(trimmed.bytes().map(char::from));
    normalised
}

/// `404 Not Found`, in plain text.
fn not_found(start_response: &mut dyn StartResponse) -> AppResult {
    let body = "404 Not Found\n";
    start_response.start_response(
        "404 Not Found",
        headers(&[
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", &body.len().to_string()),
        ]),
        None,
    )?;
    Ok(Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_normalised_like_url_prefix() {
        assert_eq!(normalise("api"), "/api");
        assert_eq!(normalise("/api/"), "/api");
        assert_eq!(normalise("//a/b//"), "/a/b");
        assert_eq!(normalise("/"), "");
        assert_eq!(normalise(""), "");
        assert_eq!(normalise("/caf\u{e9}"), "/caf\u{c3}\u{a9}");
    }

    #[test]
    fn a_prefix_matches_whole_segments_only() {
        assert!(matches_segments("/api", "/api"));
        assert!(matches_segments("/api/", "/api"));
        assert!(matches_segments("/api/x", "/api"));
        assert!(!matches_segments("/apix", "/api"));
        assert!(!matches_segments("/ap", "/api"));
        assert!(!matches_segments("", "/api"));
        assert!(matches_segments("", ""));
        assert!(matches_segments("/anything", ""));
    }
}
