//! Properties: no header value makes the middleware panic, and a parsed one
//! gives the application a sound environ, or the client a 400.

use crate::send_with;
use proptest::prelude::*;
use waitress::apps::proxy_headers::{ProxyConfig, ProxyHeader};
use waitress::gateway::testing::TestRequest;

/// Header values as the request parser delivers them (HTAB, SP, VCHAR and
/// latin-1's upper half), mostly built from the pieces the middleware's
/// parsers care about, so that quotes, brackets, ports and lists come up
/// often.
fn header_value() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just(","),
        Just(";"),
        Just("="),
        Just(":"),
        Just("\""),
        Just("\\"),
        Just("["),
        Just("]"),
        Just(" "),
        Just("for"),
        Just("host"),
        Just("proto"),
        Just("by"),
        Just("http"),
        Just("HTTPS"),
        Just("2001:db8::1"),
        Just("192.0.2.1"),
        Just("8080"),
        Just("é"),
    ];
    prop_oneof![
        3 => prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat()),
        1 => "[\t -~\u{80}-\u{ff}]{0,30}",
    ]
}

fn trusting_everything(forwarded_mode: bool, count: usize) -> ProxyConfig {
    let headers: &[ProxyHeader] = if forwarded_mode {
        &[ProxyHeader::Forwarded]
    } else {
        &ProxyHeader::ALL[1..]
    };
    ProxyConfig {
        trusted_proxy: Some("127.0.0.1".to_string()),
        trusted_proxy_count: count,
        trusted_proxy_headers: headers.iter().copied().collect(),
        ..ProxyConfig::default()
    }
}

fn with_proxy_headers(peer: &str, values: &[String]) -> TestRequest {
    let mut request = TestRequest::get("/").remote(peer, "40000");
    for (header, value) in ProxyHeader::ALL.iter().zip(values) {
        request = request.header(header.name(), value);
    }
    request
}

proptest! {
    #[test]
    fn any_header_value_yields_the_application_or_a_400(
        forwarded_mode in any::<bool>(),
        count in 1usize..4,
        values in prop::collection::vec(any::<String>(), 6),
    ) {
        let outcome = send_with(
            trusting_everything(forwarded_mode, count),
            with_proxy_headers("127.0.0.1", &values),
        );
        prop_assert!(matches!(outcome.response.status_code(), 200 | 400));
    }

    #[test]
    fn a_parsed_header_value_yields_a_sound_environ_or_a_400(
        forwarded_mode in any::<bool>(),
        trusted_peer in any::<bool>(),
        count in 1usize..4,
        values in prop::collection::vec(header_value(), 6),
    ) {
        let peer = if trusted_peer { "127.0.0.1" } else { "192.0.2.77" };
        let outcome = send_with(
            trusting_everything(forwarded_mode, count),
            with_proxy_headers(peer, &values),
        );
        if outcome.app_was_called() {
            prop_assert_eq!(outcome.response.status_code(), 200);
            prop_assert!(!outcome.var("REMOTE_ADDR").unwrap_or_default().is_empty());
            let scheme = outcome.var("wsgi.url_scheme").unwrap_or_default();
            prop_assert!(scheme == "http" || scheme == "https");
            if !trusted_peer {
                for header in ProxyHeader::ALL {
                    prop_assert_eq!(outcome.var(header.environ_key()), None);
                }
            }
        } else {
            prop_assert!(trusted_peer, "only a trusted peer's headers are parsed");
            prop_assert_eq!(outcome.response.status.as_str(), "400 Bad Request");
            prop_assert!(outcome.response.text().starts_with("Bad Request\r\n\r\nHeader \""));
        }
    }
}
