//! Reading the trusted headers: the `X-Forwarded-*` family, one header per
//! fact, and RFC 7239's `Forwarded`, one element per proxy. Both readers
//! keep the last `trusted_proxy_count` hops and produce the same
//! [`ClientFacts`], which are written into the environ in one place.
//!
//! Apart from the configuration because this is parsing of text a client
//! may have written: every malformed value must end as a
//! [`MalformedProxyHeader`], never a panic.
#![forbid(unsafe_code)]

use super::addresses::{split_address, strip_brackets, trim_ows};
use super::header::ProxyHeader;
use super::{LOG_TARGET, MalformedProxyHeader, undquote};
use crate::gateway::Environ;
use crate::logging::Logger;

/// What the trusted headers say about the client's request; empty means
/// "not said". `client` is an address with an optional port.
pub(super) struct ClientFacts {
    client: String,
    host: String,
    proto: String,
    port: String,
    /// Which header `client` and `proto` came from, to name it in errors.
    client_header: ProxyHeader,
    proto_header: ProxyHeader,
}

impl ClientFacts {
    fn new(client_header: ProxyHeader, proto_header: ProxyHeader) -> ClientFacts {
        ClientFacts {
            client: String::new(),
            host: String::new(),
            proto: String::new(),
            port: String::new(),
            client_header,
            proto_header,
        }
    }

    // ANCHOR: apply_proto
    /// Rewrites the environ's view of the request, in Waitress's order:
    /// the scheme (and its default port), the host (whose port wins), the
    /// port, then the client's address.
    pub(super) fn apply_to(self, environ: &mut Environ) -> Result<(), MalformedProxyHeader> {
        let mut port = self.port;
        if !self.proto.is_empty() {
            let proto = self.proto.to_ascii_lowercase();
            let default_port = match proto.as_str() {
                "http" => "80",
                "https" => "443",
                _ => {
                    return Err(MalformedProxyHeader::new(
                        self.proto_header,
                        "unsupported proto value",
                        proto,
                    ));
                }
            };
            if port.is_empty() {
                port = default_port.to_string();
            }
            environ.insert("wsgi.url_scheme", proto);
        }
        // ANCHOR_END: apply_proto

        if !self.host.is_empty() {
            if let (name, Some(host_port)) = split_address(&self.host) {
                // The port in the host beats X-Forwarded-Port and the
                // scheme's default: it is what the client typed.
                port = host_port.to_string();
                environ.insert("SERVER_NAME", trim_ows(name));
                environ.insert("HTTP_HOST", self.host.as_str());
            } else {
                let scheme = environ.url_scheme();
                let default_for_scheme =
                    (port == "80" && scheme == "http") || (port == "443" && scheme == "https");
                let http_host = if port.is_empty() || default_for_scheme {
                    self.host.clone()
                } else {
                    format!("{}:{port}", self.host)
                };
                environ.insert("SERVER_NAME", self.host.as_str());
                environ.insert("HTTP_HOST", http_host);
            }
        }

        if !port.is_empty() {
            environ.insert("SERVER_PORT", port);
        }

        if !self.client.is_empty() {
            let (addr, client_port) = split_address(trim_ows(&self.client));
            let addr = strip_brackets(trim_ows(addr));
            // Waitress crashes (500) or sets an empty REMOTE_ADDR here; an
            // address that is not there is a malformed header.
            if addr.is_empty() {
                return Err(MalformedProxyHeader::new(
                    self.client_header,
                    "empty client address",
                    self.client.as_str(),
                ));
            }
            environ.insert("REMOTE_ADDR", addr);
            environ.insert("REMOTE_HOST", addr);
            if let Some(client_port) = client_port {
                environ.insert("REMOTE_PORT", trim_ows(client_port));
            }
        }
        Ok(())
    }
}

/// Reads the `X-Forwarded-*` headers that `reads` accepts, rewriting the
/// list headers to their trusted hops.
// ANCHOR: read_x_forwarded
pub(super) fn read_x_forwarded(
    environ: &mut Environ,
    count: usize,
    reads: impl Fn(ProxyHeader) -> bool,
) -> Result<ClientFacts, MalformedProxyHeader> {
    let mut facts = ClientFacts::new(ProxyHeader::XForwardedFor, ProxyHeader::XForwardedProto);
    if reads(ProxyHeader::XForwardedFor) {
        if let Some(client) = read_hops(environ, ProxyHeader::XForwardedFor, count)? {
            facts.client = client;
        }
    }
    if reads(ProxyHeader::XForwardedHost) {
        if let Some(host) = read_hops(environ, ProxyHeader::XForwardedHost, count)? {
            facts.host = host;
        }
    }
    if reads(ProxyHeader::XForwardedProto) {
        facts.proto = read_single(environ, ProxyHeader::XForwardedProto)?;
    }
    if reads(ProxyHeader::XForwardedPort) {
        facts.port = read_single(environ, ProxyHeader::XForwardedPort)?;
    }
    Ok(facts)
}
// ANCHOR_END: read_x_forwarded

// ANCHOR: read_hops
/// A list header (`X-Forwarded-For`, `-Host`): one value per hop, the
/// newest last. Each proxy appends the peer it saw, so only the last `count`
/// hops were written by trusted proxies; anything before them is whatever
/// the client sent. Returns the oldest trusted hop, and leaves only the
/// trusted hops in the environ.
fn read_hops(
    environ: &mut Environ,
    header: ProxyHeader,
    count: usize,
) -> Result<Option<String>, MalformedProxyHeader> {
    let Some(value) = environ.get(header.environ_key()).map(str::to_string) else {
        return Ok(None);
    };
    let hops: Vec<&str> = value.split(',').collect();
    let first_trusted = hops.len().saturating_sub(count);
    let mut oldest_trusted = String::new();
    // Every hop must be well quoted, the untrusted ones too (as in Waitress).
    for (index, hop) in hops.iter().enumerate() {
        let hop = undquote(trim_ows(hop))
            .map_err(|error| MalformedProxyHeader::new(header, error.to_string(), &value))?;
        if index == first_trusted {
            oldest_trusted = hop;
        }
    }
    let trusted_part = trim_ows(&hops[first_trusted..].join(",")).to_string();
    environ.insert(header.environ_key(), trusted_part);
    Ok(Some(oldest_trusted))
}
// ANCHOR_END: read_hops

/// A single-value header (`X-Forwarded-Proto`, `-Port`); `""` when absent.
fn read_single(environ: &Environ, header: ProxyHeader) -> Result<String, MalformedProxyHeader> {
    let value = environ.get(header.environ_key()).unwrap_or_default();
    let malformed = |reason: String| MalformedProxyHeader::new(header, reason, value);
    let unquoted = undquote(value).map_err(|error| malformed(error.to_string()))?;
    if unquoted.contains(',') {
        return Err(malformed(
            "Unspecified behavior for multiple values found in header".to_string(),
        ));
    }
    Ok(unquoted)
}

/// One element of `Forwarded`: what one proxy said.
#[derive(Default)]
struct ForwardedElement {
    for_: String,
    host: String,
    proto: String,
}

/// Reads `Forwarded` (RFC 7239): elements separated by `,` (one per proxy,
/// the newest last), each `token=value` pairs separated by `;`.
pub(super) fn read_forwarded(
    environ: &mut Environ,
    count: usize,
    logger: &Logger,
) -> Result<ClientFacts, MalformedProxyHeader> {
    let mut facts = ClientFacts::new(ProxyHeader::Forwarded, ProxyHeader::Forwarded);
    let key = ProxyHeader::Forwarded.environ_key();
    let Some(value) = environ
        .get(key)
        .filter(|value| !value.is_empty())
        .map(str::to_string)
    else {
        return Ok(facts);
    };
    let raw_elements: Vec<&str> = value.split(',').collect();
    let elements = raw_elements
        .iter()
        .map(|element| parse_forwarded_element(trim_ows(element), logger))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|reason| MalformedProxyHeader::new(ProxyHeader::Forwarded, reason, &value))?;

    let first_trusted = elements.len().saturating_sub(count);
    let trusted = &elements[first_trusted..];
    // The oldest trusted element that says something wins: later proxies
    // may rewrite host or proto for their own hop, but the oldest one saw
    // what the client asked for.
    let oldest = |field: fn(&ForwardedElement) -> &String| {
        trusted
            .iter()
            .map(field)
            .find(|value| !value.is_empty())
            .cloned()
            .unwrap_or_default()
    };
    facts.client = oldest(|element| &element.for_);
    facts.host = oldest(|element| &element.host);
    facts.proto = oldest(|element| &element.proto);

    let trusted_part = trim_ows(&raw_elements[first_trusted..].join(",")).to_string();
    environ.insert(key, trusted_part);
    Ok(facts)
}

// ANCHOR: forwarded_element
/// Parses one element. Like Waitress, each pair is lower-cased whole before
/// it is split, so host names come out lower-case, and whitespace around
/// `=` or `;` is an error.
fn parse_forwarded_element(element: &str, logger: &Logger) -> Result<ForwardedElement, String> {
    let mut parsed = ForwardedElement::default();
    let mut by = String::new();
    for pair in element.split(';') {
        let pair = pair.to_lowercase();
        if pair.is_empty() {
            continue;
        }
        let Some((token, value)) = pair.split_once('=') else {
            return Err("Invalid forwarded-pair missing \"=\"".to_string());
        };
        if trim_ows(token) != token {
            return Err("Token may not be surrounded by whitespace".to_string());
        }
        if trim_ows(value) != value {
            return Err("Value may not be surrounded by whitespace".to_string());
        }
        let slot = match token {
            "for" => &mut parsed.for_,
            "host" => &mut parsed.host,
            "proto" => &mut parsed.proto,
            // Checked for quoting like the others, then not used.
            "by" => &mut by,
            _ => {
                logger.warn(
                    LOG_TARGET,
                    format_args!("Unknown Forwarded token: {token:?}"),
                );
                continue;
            }
        };
        *slot = undquote(value).map_err(|error| error.to_string())?;
    }
    Ok(parsed)
}
// ANCHOR_END: forwarded_element
