//! The device's pages: the settings form (GET shows it, POST saves it and
//! redirects), the JSON status, and the redirect from `/`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use waitress::gateway::{AppResult, Application, Body, Environ, StartResponse, headers};

use waitress::gateway::{FormError, read_form};

/// The largest form body read: a settings form is a few hundred bytes.
const FORM_LIMIT: u64 = 16 * 1024;
use crate::settings::{LOG_LEVELS, Problem, Settings, Store};

/// The application: the settings in memory, the file they are saved to.
pub struct DeviceUi {
    store: Store,
    /// Held while a POST saves, so that saves happen one at a time.
    settings: Mutex<Settings>,
    started: Instant,
}

impl DeviceUi {
    /// The application over `store`, starting from its saved settings.
    pub fn new(store: Store) -> DeviceUi {
        DeviceUi {
            settings: Mutex::new(store.load()),
            store,
            started: Instant::now(),
        }
    }

    fn current(&self) -> Settings {
        self.settings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Application for DeviceUi {
    fn call(&self, environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        // Three exact paths and their methods: a `match` is the clearest
        // router for that (a prefix router mounts whole applications).
        let path = environ.path_info().to_string();
        let method = environ.method().to_string();
        let allow = match path.as_str() {
            "" | "/" => "GET, HEAD",
            "/settings" => "GET, HEAD, POST",
            "/status.json" => "GET, HEAD",
            _ => return respond(start_response, "404 Not Found", TEXT, "Not Found\n", &[]),
        };
        match (path.as_str(), method.as_str()) {
            ("" | "/", "GET" | "HEAD") => redirect(environ, start_response, "302 Found"),
            ("/settings", "GET" | "HEAD") => {
                let page = settings_page(&self.current(), &[]);
                respond(start_response, "200 OK", HTML, page, &[])
            }
            ("/settings", "POST") => self.save(environ, start_response),
            ("/status.json", "GET" | "HEAD") => {
                let status = status_json(&self.current(), self.started.elapsed().as_secs());
                respond(start_response, "200 OK", JSON, status, &[])
            }
            _ => respond(
                start_response,
                "405 Method Not Allowed",
                TEXT,
                "Method Not Allowed\n",
                &[("Allow", allow)],
            ),
        }
    }
}

impl DeviceUi {
    /// POST /settings: validate, save, redirect (303) to the form; invalid
    /// values show the form again with 400 and what is wrong.
    fn save(&self, environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        if is_cross_site(environ) {
            let text = "A form from another site may not change settings.\n";
            return respond(start_response, "403 Forbidden", TEXT, text, &[]);
        }
        let (status, text) = match read_form(environ, FORM_LIMIT) {
            Ok(pairs) => {
                let submitted = Settings::from_pairs(&pairs);
                let problems = submitted.problems();
                if !problems.is_empty() {
                    let page = settings_page(&submitted, &problems);
                    return respond(start_response, "400 Bad Request", HTML, page, &[]);
                }
                let mut settings = self.settings.lock().unwrap_or_else(PoisonError::into_inner);
                match self.store.save(&submitted) {
                    Ok(()) => {
                        *settings = submitted;
                        drop(settings);
                        return redirect(environ, start_response, "303 See Other");
                    }
                    Err(error) => {
                        let path = self.store.path().display();
                        let _ = writeln!(environ.errors(), "saving {path}: {error}");
                        (
                            "500 Internal Server Error",
                            "The settings could not be saved.\n",
                        )
                    }
                }
            }
            Err(FormError::TooLarge { .. }) => {
                ("413 Content Too Large", "The form is too large.\n")
            }
            Err(FormError::UnsupportedContentType { .. }) => (
                "415 Unsupported Media Type",
                "Send application/x-www-form-urlencoded.\n",
            ),
            Err(_) => ("500 Internal Server Error", "Unreadable body.\n"),
        };
        respond(start_response, status, TEXT, text, &[])
    }
}

const TEXT: &str = "text/plain; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";
const JSON: &str = "application/json";

/// Starts a response that no cache keeps (it shows the device's settings).
fn respond(
    start_response: &mut dyn StartResponse,
    status: &str,
    content_type: &str,
    body: impl Into<Body>,
    extra: &[(&str, &str)],
) -> AppResult {
    let mut fields = headers(&[
        ("Content-Type", content_type),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
    ]);
    if content_type == HTML {
        let policy = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
                      frame-ancestors 'none'";
        fields.push(("Content-Security-Policy".to_string(), policy.to_string()));
    }
    fields.extend(headers(extra));
    start_response.start_response(status, fields, None)?;
    Ok(body.into())
}

/// Redirects to the settings form, under wherever the application is
/// mounted (`SCRIPT_NAME`).
fn redirect(environ: &Environ, start_response: &mut dyn StartResponse, status: &str) -> AppResult {
    let location = format!("{}/settings", environ.get("SCRIPT_NAME").unwrap_or(""));
    respond(start_response, status, TEXT, "", &[("Location", &location)])
}

/// A browser sends `Origin` with a POST; one that names another site is a
/// form there posting here with the credentials the browser remembers.
fn is_cross_site(environ: &Environ) -> bool {
    let Some(origin) = environ.get("HTTP_ORIGIN") else {
        return false;
    };
    let authority = origin.split_once("://").map(|(_, authority)| authority);
    authority != environ.get("HTTP_HOST")
}

/// Text made safe for HTML content and for quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A JSON string literal (RFC 8259 §7): quotes, backslashes and control
/// characters escaped; everything else as it is (JSON text is UTF-8).
pub fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn status_json(settings: &Settings, uptime_seconds: u64) -> String {
    format!(
        "{{\"version\":{},\"uptime_seconds\":{uptime_seconds},\"settings\":{{\
         \"device_name\":{},\"ntp_server\":{},\"log_level\":{}}}}}\n",
        json_string(env!("CARGO_PKG_VERSION")),
        json_string(&settings.device_name),
        json_string(&settings.ntp_server),
        json_string(&settings.log_level),
    )
}

/// The form, filled with `settings`, and `problems` above it and by the
/// fields they concern. Every value and message is escaped.
fn settings_page(settings: &Settings, problems: &[Problem]) -> String {
    let mut page = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">\
         <title>Device settings</title>\n<style>body{font-family:sans-serif;max-width:36em;\
         margin:2em auto}label{display:block;margin-top:1em}.problem{color:#b00}</style>\n\
         </head>\n<body>\n<h1>Device settings</h1>\n",
    );
    if !problems.is_empty() {
        page.push_str("<ul class=\"problem\">\n");
        for (_, message) in problems {
            let _ = writeln!(page, "<li>{}</li>", escape_html(message));
        }
        page.push_str("</ul>\n");
    }
    let problem = |field: &str| {
        (problems.iter().find(|(name, _)| *name == field))
            .map(|(_, message)| format!(" <span class=\"problem\">{}</span>", escape_html(message)))
            .unwrap_or_default()
    };
    page.push_str("<form method=\"post\" action=\"settings\">\n");
    for (name, label, value, limit) in [
        ("device_name", "Device name", &settings.device_name, 64),
        ("ntp_server", "NTP server", &settings.ntp_server, 253),
    ] {
        let _ = writeln!(
            page,
            "<label>{label} <input name=\"{name}\" value=\"{}\" maxlength=\"{limit}\" \
             required></label>{}",
            escape_html(value),
            problem(name)
        );
    }
    page.push_str("<label>Log level <select name=\"log_level\">\n");
    for level in LOG_LEVELS {
        let selected = if settings.log_level == level {
            " selected"
        } else {
            ""
        };
        let _ = writeln!(page, "<option{selected}>{level}</option>");
    }
    let _ = writeln!(page, "</select></label>{}", problem("log_level"));
    page.push_str("<p><button>Save</button></p>\n</form>\n");
    page.push_str("<p><a href=\"status.json\">Status (JSON)</a></p>\n</body>\n</html>\n");
    page
}
