//! The WSGI environ: [`Environ`] with every CGI and `wsgi.*` key,
//! [`RequestInfo`] (what the server knows of a request when it builds one),
//! and the [`ClientDisconnected`] flag behind `waitress.client_disconnected`.
//!
//! It is separate because it is the request's side of the contract:
//! [`Environ::from_request`] is the one place a parsed request becomes what
//! an application reads.
#![forbid(unsafe_code)]

use std::any::Any;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::{Read, Seek};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{Body, Errors, Input, environ_key};
use crate::http::parser::Version;
use crate::logging::Logger;

/// `waitress.client_disconnected`: a flag the server sets when the client of
/// a request has gone away, so that a long-running application can stop.
///
/// ```
/// use waitress::gateway::ClientDisconnected;
/// let flag = ClientDisconnected::new();
/// let seen_by_app = flag.clone();
/// assert!(!seen_by_app.is_disconnected());
/// flag.mark_disconnected();
/// assert!(seen_by_app.is_disconnected());
/// ```
#[derive(Clone, Debug, Default)]
pub struct ClientDisconnected(Arc<AtomicBool>);

impl ClientDisconnected {
    /// A flag for a client that is still connected.
    pub fn new() -> ClientDisconnected {
        ClientDisconnected::default()
    }

    /// Whether the client has gone away.
    pub fn is_disconnected(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// Records that the client has gone away (the server calls this).
    pub fn mark_disconnected(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// What the server knows of one request when it builds the environ: the
/// parsed request line and headers, the received body, and the connection's
/// and server's facts. [`Environ::from_request`] turns it into the environ.
#[derive(Debug)]
pub struct RequestInfo {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The request-target exactly as sent.
    pub target: String,
    /// The version it came in, `SERVER_PROTOCOL`; the response is framed
    /// for it too. The one place a request carries its version.
    pub version: Version,
    /// Header fields under their CGI names without `HTTP_` (`HOST`,
    /// `CONTENT_TYPE`, `X_FOO`), repeats already joined with `", "`.
    pub headers: Vec<(Cow<'static, str>, String)>,
    /// The body, fully received.
    pub body: Input,
    /// The client's address (no brackets for IPv6; `localhost` on a Unix socket).
    pub remote_addr: String,
    /// The client's port (`""` on a Unix socket).
    pub remote_port: String,
    /// `SERVER_NAME`: the `server_name` adjustment. An absolute-form
    /// target's host takes its place (see [`Environ::from_request`]).
    pub server_name: String,
    /// `SERVER_PORT`: the port the request came in on (the socket path on a Unix socket).
    pub server_port: String,
    /// `wsgi.url_scheme`: the `url_scheme` adjustment.
    pub url_scheme: String,
    /// `SCRIPT_NAME`: the `url_prefix` adjustment (`""` or `/something`).
    pub url_prefix: String,
    /// `SERVER_SOFTWARE`: the `ident` adjustment; the key is absent when `None`.
    pub ident: Option<String>,
}

impl Default for RequestInfo {
    fn default() -> RequestInfo {
        RequestInfo {
            method: "GET".to_string(),
            target: "/".to_string(),
            version: Version::Http11,
            headers: Vec::new(),
            body: Input::empty(),
            remote_addr: "127.0.0.1".to_string(),
            remote_port: "0".to_string(),
            server_name: "waitress.invalid".to_string(),
            server_port: "8080".to_string(),
            url_scheme: "http".to_string(),
            url_prefix: String::new(),
            ident: Some("waitress".to_string()),
        }
    }
}

// ANCHOR: environ
/// The WSGI environ: CGI variables and `HTTP_*` headers as string keys, plus
/// the typed `wsgi.*` values.
///
/// Middleware reads and adds keys as it does in Python:
///
/// ```
/// use waitress::gateway::Environ;
///
/// let mut environ = Environ::new();
/// environ.insert("REQUEST_METHOD", "GET");
/// environ.insert("myapp.user", "alice");
/// assert_eq!(environ.get("myapp.user"), Some("alice"));
/// environ.insert_object("myapp.session", vec![1u32, 2, 3]);
/// assert_eq!(environ.object::<Vec<u32>>("myapp.session"), Some(&vec![1, 2, 3]));
/// ```
pub struct Environ {
    /// CGI keys are `'static` text: borrowed, not allocated per request.
    vars: BTreeMap<Cow<'static, str>, String>,
    objects: HashMap<String, Box<dyn Any + Send>>,
    input: Input,
    errors: Errors,
    client_disconnected: ClientDisconnected,
}
// ANCHOR_END: environ

impl Default for Environ {
    fn default() -> Environ {
        Environ::new()
    }
}

impl fmt::Debug for Environ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Environ")
            .field("vars", &self.vars)
            .field("objects", &self.objects.keys().collect::<Vec<_>>())
            .field("input", &self.input)
            .finish_non_exhaustive()
    }
}

impl Environ {
    /// An environ with only `wsgi.url_scheme` (`http`), an empty body and
    /// errors to standard error. Servers build theirs with
    /// [`Environ::from_request`]; this is for tests and tools.
    pub fn new() -> Environ {
        let mut vars = BTreeMap::new();
        vars.insert(Cow::Borrowed("wsgi.url_scheme"), "http".to_string());
        Environ {
            vars,
            objects: HashMap::new(),
            input: Input::empty(),
            errors: Errors::new(Logger::default()),
            client_disconnected: ClientDisconnected::new(),
        }
    }

    /// Builds the environ for a request, with every key PEP 3333 and CGI
    /// define and Waitress sets.
    ///
    /// `SERVER_NAME` is the `server_name` adjustment, as in Waitress, unless
    /// the target is in absolute form: then the client named the host it
    /// wants, and RFC 9112 §3.2.2 says to use it, so `SERVER_NAME` is the
    /// target's host (the parser has made it the Host as well).
    /// `SERVER_PORT` stays the port the request came in on (RFC 3875
    /// §4.1.15); the port the client named is in `HTTP_HOST`.
    ///
    /// ```
    /// use waitress::logging::Logger;
    /// use waitress::gateway::{ClientDisconnected, Environ, RequestInfo};
    ///
    /// let info = RequestInfo { target: "http://a.example:81/x".into(), ..RequestInfo::default() };
    /// let environ = Environ::from_request(info, Logger::default(), ClientDisconnected::new());
    /// assert_eq!(environ.get("SERVER_NAME"), Some("a.example"));
    /// assert_eq!(environ.get("SERVER_PORT"), Some("8080"));
    /// ```
    pub fn from_request(
        request: RequestInfo,
        errors: Logger,
        client_disconnected: ClientDisconnected,
    ) -> Environ {
        let (raw_path, query) = crate::http::uri::split_target(&request.target);
        let mut path_info = crate::http::uri::decode_path(raw_path);
        let prefix = request.url_prefix;
        if !prefix.is_empty() {
            if path_info == prefix {
                path_info.clear();
            } else if path_info.starts_with(&prefix)
                && path_info.as_bytes().get(prefix.len()) == Some(&b'/')
            {
                path_info.drain(..prefix.len());
            }
        }
        // ANCHOR: from_request_vars
        let mut vars = BTreeMap::new();
        let mut set = |key: &'static str, value: String| {
            vars.insert(Cow::Borrowed(key), value);
        };
        set("REQUEST_METHOD", request.method);
        set("SCRIPT_NAME", prefix);
        set("PATH_INFO", path_info);
        set("QUERY_STRING", query.to_string());
        set("REQUEST_URI", request.target.clone());
        let target_host = crate::http::uri::absolute_authority(&request.target)
            .and_then(|authority| crate::http::uri::parse_authority(authority).ok());
        set(
            "SERVER_NAME",
            target_host.map_or(request.server_name, |host| host.host.to_string()),
        );
        set("SERVER_PORT", request.server_port);
        set("SERVER_PROTOCOL", request.version.as_str().to_string());
        set("REMOTE_ADDR", request.remote_addr.clone());
        set("REMOTE_HOST", request.remote_addr);
        set("REMOTE_PORT", request.remote_port);
        set("wsgi.url_scheme", request.url_scheme);
        if let Some(ident) = request.ident.filter(|i| !i.is_empty()) {
            set("SERVER_SOFTWARE", ident);
        }
        for (name, value) in request.headers {
            let key = match environ_key(&name) {
                Some(known) => Cow::Borrowed(known),
                None => Cow::Owned(format!("HTTP_{name}")),
            };
            // A header never overwrites a key set above.
            vars.entry(key).or_insert(value);
        }
        // ANCHOR_END: from_request_vars
        Environ {
            vars,
            objects: HashMap::new(),
            input: request.body,
            errors: Errors::new(errors),
            client_disconnected,
        }
    }

    /// The value of a string key, e.g. `PATH_INFO` or `HTTP_HOST`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str)
    }

    /// Sets a string key, replacing any old value, which is returned.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) -> Option<String> {
        self.vars.insert(Cow::Owned(key.into()), value.into())
    }

    /// Removes a string key, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.vars.remove(key)
    }

    /// Whether a string key is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.vars.contains_key(key)
    }

    /// Every string key and value, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_ref(), v.as_str()))
    }

    /// Stores a value of any type under a key (middleware's objects: a
    /// session, a user, a database handle).
    pub fn insert_object<T: Any + Send>(&mut self, key: impl Into<String>, value: T) {
        self.objects.insert(key.into(), Box::new(value));
    }

    /// A value stored with [`Environ::insert_object`], if it has type `T`.
    pub fn object<T: Any + Send>(&self, key: &str) -> Option<&T> {
        self.objects.get(key)?.downcast_ref()
    }

    /// Mutable access to a stored value of type `T`.
    pub fn object_mut<T: Any + Send>(&mut self, key: &str) -> Option<&mut T> {
        self.objects.get_mut(key)?.downcast_mut()
    }

    /// Removes a stored value, returning it if it has type `T`.
    pub fn remove_object<T: Any + Send>(&mut self, key: &str) -> Option<T> {
        let value = self.objects.remove(key)?;
        value.downcast().ok().map(|boxed| *boxed)
    }

    /// `REQUEST_METHOD` (empty if unset).
    pub fn method(&self) -> &str {
        self.get("REQUEST_METHOD").unwrap_or("")
    }

    /// `PATH_INFO` (empty if unset).
    pub fn path_info(&self) -> &str {
        self.get("PATH_INFO").unwrap_or("")
    }

    /// `wsgi.version`: always `(1, 0)`.
    pub fn version(&self) -> (u32, u32) {
        (1, 0)
    }

    /// `wsgi.url_scheme`: `http` or `https`.
    pub fn url_scheme(&self) -> &str {
        self.get("wsgi.url_scheme").unwrap_or("http")
    }

    /// `wsgi.input`: the request body.
    pub fn input(&mut self) -> &mut Input {
        &mut self.input
    }

    /// Takes `wsgi.input` out of the environ (leaving an empty one), e.g. to
    /// return it as the response body.
    pub fn take_input(&mut self) -> Input {
        std::mem::take(&mut self.input)
    }

    /// Replaces `wsgi.input` (middleware that rewrites request bodies).
    pub fn set_input(&mut self, input: Input) {
        self.input = input;
    }

    /// `wsgi.input_terminated`: always true, the body ends where the request does.
    pub fn input_terminated(&self) -> bool {
        true
    }

    /// `wsgi.errors`: a `Write` to the server's log.
    pub fn errors(&mut self) -> &mut Errors {
        &mut self.errors
    }

    /// `wsgi.multithread`: always true, a pool of threads runs applications.
    pub fn multithread(&self) -> bool {
        true
    }

    /// `wsgi.multiprocess`: always false.
    pub fn multiprocess(&self) -> bool {
        false
    }

    /// `wsgi.run_once`: always false.
    pub fn run_once(&self) -> bool {
        false
    }

    /// `wsgi.file_wrapper(file, block_size)`: a body streamed from a file.
    pub fn file_wrapper<F>(&self, file: F, block_size: usize) -> Body
    where
        F: Read + Seek + Send + 'static,
    {
        Body::file(file, block_size)
    }

    /// `waitress.client_disconnected()`: whether the client has gone away.
    /// Only a server that reads ahead (`channel_request_lookahead` > 0) can
    /// notice a disconnect while the application runs.
    pub fn client_disconnected(&self) -> bool {
        self.client_disconnected.is_disconnected()
    }

    /// The flag behind [`Environ::client_disconnected`], to hand to a thread.
    pub fn client_disconnected_flag(&self) -> ClientDisconnected {
        self.client_disconnected.clone()
    }
}
