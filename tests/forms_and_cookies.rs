//! Forms, query strings and cookies (`src/gateway/form.rs`,
//! `src/gateway/cookies.rs`): the cookie rules one by one, the decoders
//! against arbitrary input (proptest), and both through the test client.

use std::time::{Duration, SystemTime};

use proptest::prelude::*;
use waitress::gateway::testing::TestRequest;
use waitress::gateway::{
    AppResult, Body, CookieError, Environ, FormError, SameSite, SetCookie, StartResponse, cookies,
    first_value, parse_cookie_header, parse_query, parse_urlencoded, query_pairs, read_form,
};

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

#[test]
fn cookie_pairs_keep_their_order_and_repeats() {
    assert_eq!(
        parse_cookie_header("a=1; b=2; a=3"),
        pairs(&[("a", "1"), ("b", "2"), ("a", "3")])
    );
}

#[test]
fn whitespace_around_names_and_values_is_trimmed() {
    assert_eq!(
        parse_cookie_header(" a = 1 ;\tb=2\t;c=;"),
        pairs(&[("a", "1"), ("b", "2"), ("c", "")])
    );
}

#[test]
fn quoted_values_are_unquoted_once() {
    assert_eq!(
        parse_cookie_header(r#"a="x y"; b=""; c="""; d=""x"""#),
        pairs(&[("a", "x y"), ("b", ""), ("c", "\""), ("d", "\"x\"")])
    );
    // A lone quote is not a quoted value.
    assert_eq!(parse_cookie_header("a=\"x"), pairs(&[("a", "\"x")]));
}

#[test]
fn malformed_pairs_are_skipped() {
    assert_eq!(
        parse_cookie_header("junk; =nameless; ;; ok=1; = ; also junk"),
        pairs(&[("ok", "1")])
    );
    assert_eq!(parse_cookie_header(""), pairs(&[]));
}

#[test]
fn a_value_may_hold_equals_signs() {
    assert_eq!(
        parse_cookie_header("token=YWJj==; b=c=d"),
        pairs(&[("token", "YWJj=="), ("b", "c=d")])
    );
}

#[test]
fn cookie_bytes_are_read_as_utf8_with_replacement() {
    // The environ holds the header's bytes as latin-1 characters.
    assert_eq!(
        parse_cookie_header("n=caf\u{c3}\u{a9}; m=\u{ff}"),
        pairs(&[("n", "café"), ("m", "\u{fffd}")])
    );
}

#[test]
fn a_full_set_cookie_lists_every_attribute_in_order() {
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
    let value = SetCookie::new("id", "a1")
        .path("/app")
        .domain("device.local")
        .max_age(Duration::from_millis(90_500))
        .expires(at)
        .secure()
        .http_only()
        .same_site(SameSite::None)
        .build()
        .unwrap();
    assert_eq!(
        value,
        "id=a1; Path=/app; Domain=device.local; Max-Age=90; \
         Expires=Sun, 06 Nov 1994 08:49:37 GMT; Secure; HttpOnly; SameSite=None"
    );
    assert_eq!(
        SetCookie::new("a", "").same_site(SameSite::Strict).build(),
        Ok("a=; SameSite=Strict".to_string())
    );
}

#[test]
fn names_that_are_not_tokens_are_refused() {
    for name in [
        "", "a b", "a;b", "a=b", "a\r\nb", "a,b", "é", "a\"", "(a)", "a\0",
    ] {
        assert_eq!(
            SetCookie::new(name, "1").build(),
            Err(CookieError::InvalidName),
            "{name:?}"
        );
    }
    assert!(SetCookie::new("A-b_c.1!#$%&'*+^`|~", "1").build().is_ok());
}

#[test]
fn values_that_could_split_or_corrupt_the_header_are_refused() {
    for value in [
        "a;b",
        "a\r\nSet-Cookie: x=1",
        "a\nb",
        "a\rb",
        "a b",
        "a\tb",
        "\"quoted\"",
        "a,b",
        "a\\b",
        "caf\u{e9}",
        "a\u{7f}",
        "a\0",
    ] {
        assert_eq!(
            SetCookie::new("n", value).build(),
            Err(CookieError::InvalidValue),
            "{value:?}"
        );
    }
    assert!(
        SetCookie::new("n", "!#$%&'()*+-./09:<=>?@AZ[]^_`az{|}~")
            .build()
            .is_ok()
    );
}

#[test]
fn attribute_values_with_separators_or_controls_are_refused() {
    for bad in ["/a;b", "/a\r\nX: y", "/a\nb", "/\u{7f}", "/\u{e9}", "/\t"] {
        assert_eq!(
            SetCookie::new("n", "v").path(bad).build(),
            Err(CookieError::InvalidAttribute { attribute: "Path" }),
            "{bad:?}"
        );
        assert_eq!(
            SetCookie::new("n", "v").domain(bad).build(),
            Err(CookieError::InvalidAttribute {
                attribute: "Domain"
            }),
            "{bad:?}"
        );
    }
    assert!(SetCookie::new("n", "v").path("/a b,c").build().is_ok());
}

#[test]
fn same_site_none_needs_secure() {
    assert_eq!(
        SetCookie::new("n", "v").same_site(SameSite::None).build(),
        Err(CookieError::SameSiteNoneWithoutSecure)
    );
}

#[test]
fn cookies_of_an_environ_without_the_header_is_empty() {
    assert_eq!(cookies(&Environ::new()), pairs(&[]));
}

// ---------------------------------------------------------------------------
// Decoders against arbitrary input.
// ---------------------------------------------------------------------------

/// The tiny encoder the round trip needs: unreserved bytes as they are, a
/// space as `+`, everything else `%XX`.
fn encode_component(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                char::from(byte).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

fn encode_form(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", encode_component(name), encode_component(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Bytes rich in the characters the decoder treats specially.
fn form_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        "[a-cA-F0-9%+=& ]{0,60}".prop_map(String::into_bytes),
    ]
}

proptest! {
    #[test]
    fn form_decoding_never_panics_and_gives_one_pair_per_piece(input in form_like_bytes()) {
        let pieces = input.split(|&b| b == b'&').filter(|p| !p.is_empty()).count();
        prop_assert_eq!(parse_urlencoded(&input).len(), pieces);
    }

    #[test]
    fn query_decoding_never_panics(query in any::<String>()) {
        let pairs = parse_query(&query);
        prop_assert!(pairs.len() <= query.len());
    }

    #[test]
    fn encoded_form_pairs_decode_to_themselves(
        pairs in proptest::collection::vec((any::<String>(), any::<String>()), 0..8)
    ) {
        let encoded = encode_form(&pairs);
        prop_assert_eq!(&parse_urlencoded(encoded.as_bytes()), &pairs);
        // The same text as a query string in the environ.
        prop_assert_eq!(&parse_query(&encoded), &pairs);
    }

    #[test]
    fn cookie_parsing_never_panics_and_gives_trimmed_named_pairs(header in any::<String>()) {
        for (name, value) in parse_cookie_header(&header) {
            prop_assert!(!name.is_empty());
            prop_assert_eq!(name.trim_matches([' ', '\t']), name.as_str());
            prop_assert!(!name.contains(';') && !value.contains(';'));
        }
    }

    #[test]
    fn a_built_set_cookie_never_carries_a_line_break_or_a_stray_semicolon(
        name in "[ -~\r\n\t;é]{0,12}",
        value in "[ -~\r\n\t;é]{0,12}",
        path in "[ -~\r\n\t;é]{0,12}",
        domain in "[ -~\r\n\t;é]{0,12}",
    ) {
        let built = SetCookie::new(name.clone(), value.clone())
            .path(path.clone())
            .domain(domain.clone())
            .build();
        if let Ok(header) = built {
            prop_assert!(!header.contains(['\r', '\n']), "{:?}", header);
            prop_assert!(header.chars().all(|c| (' '..='~').contains(&c)), "{:?}", header);
            // Exactly the two attribute separators, and the pair before them.
            prop_assert_eq!(header.matches(';').count(), 2, "{:?}", header);
            let expected = format!("{name}={value}; Path={path}; Domain={domain}");
            prop_assert_eq!(header, expected);
        }
    }

    #[test]
    fn a_valid_cookie_is_built_and_read_back(
        name in "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}",
        value in "[!#-+\\--:<-\\[\\]-~]{0,16}",
    ) {
        let header = SetCookie::new(name.clone(), value.clone()).path("/").build().unwrap();
        let pair = header.split("; ").next().unwrap();
        prop_assert_eq!(parse_cookie_header(pair), vec![(name, value)]);
    }
}

// ---------------------------------------------------------------------------
// Through the test client.
// ---------------------------------------------------------------------------

// A settings handler: GET shows the query's `name`, POST reads the form and
// remembers it in a cookie.
fn settings(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    if environ.method() == "POST" {
        let form = match read_form(environ, 64) {
            Ok(form) => form,
            Err(error) => {
                let status = error.status();
                start_response.start_response(status, Vec::new(), None)?;
                return Ok(Body::from(error.to_string()));
            }
        };
        let name = first_value(&form, "name").unwrap_or("");
        let hex: String = name.bytes().map(|b| format!("{b:02x}")).collect();
        let cookie = SetCookie::new("name", hex).path("/").http_only().build()?;
        start_response.start_response(
            "303 See Other",
            vec![
                ("Location".into(), "/".into()),
                ("Set-Cookie".into(), cookie),
            ],
            None,
        )?;
        return Ok(Body::empty());
    }
    let query = query_pairs(environ);
    let cookie_jar = cookies(environ);
    let text = format!(
        "query={:?} cookie={:?}",
        first_value(&query, "name"),
        first_value(&cookie_jar, "name")
    );
    start_response.start_response("200 OK", Vec::new(), None)?;
    Ok(Body::from(text))
}

#[test]
fn a_posted_form_is_decoded_and_answered_with_a_cookie() {
    let response = TestRequest::post("/", "name=Pump+%C3%A9&x=1")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .call(&settings)
        .unwrap();
    assert_eq!(response.status, "303 See Other");
    assert_eq!(
        response.header("set-cookie"),
        Some("name=50756d7020c3a9; Path=/; HttpOnly")
    );
}

#[test]
fn an_oversized_form_is_answered_413() {
    let response = TestRequest::post("/", format!("name={}", "a".repeat(100)))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .call(&settings)
        .unwrap();
    assert_eq!(response.status, "413 Content Too Large");
    assert_eq!(response.text(), "the form body is larger than 64 bytes");
}

#[test]
fn a_form_of_another_type_is_answered_415() {
    let response = TestRequest::post("/", "{\"name\": 1}")
        .header("Content-Type", "application/json")
        .call(&settings)
        .unwrap();
    assert_eq!(response.status, "415 Unsupported Media Type");
}

#[test]
fn query_and_cookie_reach_the_application_decoded() {
    let response = TestRequest::get("/?name=a+%26+b&name=second")
        .header("Cookie", "theme=dark; name=\"6869\"")
        .call(&settings)
        .unwrap();
    assert_eq!(
        response.text(),
        "query=Some(\"a & b\") cookie=Some(\"6869\")"
    );
}

#[test]
fn read_form_errors_convert_to_app_errors() {
    fn app(environ: &mut Environ, _: &mut dyn StartResponse) -> AppResult {
        read_form(environ, 1)?;
        Ok(Body::empty())
    }
    let error = TestRequest::post("/", "a=1")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .call(&app)
        .unwrap_err();
    let form_error = error.downcast_ref::<FormError>();
    assert!(
        matches!(form_error, Some(FormError::TooLarge { limit: 1 })),
        "{error:?}"
    );
}
