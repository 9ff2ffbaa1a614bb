//! Any response the application can make is framed correctly: a property
//! test, with the response reader of `main.rs` as the judge.

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use waitress::gateway::{AppResult, Body, Environ, StartResponse};
use waitress::http::parser::Version as HttpVersion;
use waitress::task::WsgiTask;

use super::{context, read_response, request};

#[derive(Clone, Debug)]
struct Generated {
    status: u16,
    app_length: Option<u64>,
    chunks: Vec<Vec<u8>>,
    single_buffer: bool,
    head: bool,
    http11: bool,
    close_after: bool,
}

fn generated() -> impl Strategy<Value = Generated> {
    (
        prop_oneof![
            Just(200u16),
            Just(201),
            Just(204),
            Just(304),
            Just(404),
            Just(500)
        ],
        proptest::option::of(0u64..40),
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 0..5),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(status, app_length, chunks, single_buffer, head, http11, close_after)| Generated {
                status,
                app_length,
                chunks,
                single_buffer,
                head,
                http11,
                close_after,
            },
        )
}

proptest! {
    // Failing cases are kept in `property.proptest-regressions`, next to this
    // file: proptest's default would look for a `main.rs` above it and keep
    // them in `tests/proptest-regressions/property.txt`.
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_response_reads_back_with_correct_framing(case in generated()) {
        let g = case.clone();
        let app = move |_: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
            let mut hs = vec![("X-Case".to_string(), "1".to_string())];
            if let Some(length) = g.app_length {
                hs.push(("Content-Length".to_string(), length.to_string()));
            }
            start_response.start_response(&format!("{} Status", g.status), hs, None)?;
            if g.single_buffer {
                Ok(Body::from(g.chunks.concat()))
            } else {
                Ok(Body::from_chunks(g.chunks.clone()))
            }
        };
        let version = if case.http11 { HttpVersion::Http11 } else { HttpVersion::Http10 };
        let method = if case.head { "HEAD" } else { "GET" };
        let (context, _) = context();
        let mut output = Vec::new();
        let outcome = WsgiTask::new(&app, request(method, version, case.close_after), &context).service(&mut output);
        let response = read_response(&output, method);

        prop_assert_eq!(response.status, case.status);
        prop_assert_eq!(response.version.as_str(), version.as_str());
        prop_assert_eq!(response.header("X-Case"), Some("1"));
        let all: Vec<u8> = case.chunks.concat();
        let no_body = case.status == 204 || case.status == 304;
        if no_body {
            prop_assert_eq!(response.header("Content-Length"), None);
            prop_assert_eq!(response.header("Transfer-Encoding"), None);
        } else if !case.head {
            // The body is what the application gave, cut to its Content-Length.
            let expected = match case.app_length {
                Some(length) => all[..all.len().min(length as usize)].to_vec(),
                None => all.clone(),
            };
            prop_assert_eq!(&response.body, &expected);
            let short = case.app_length.is_some_and(|l| (all.len() as u64) < l);
            prop_assert_eq!(response.complete, !short);
        }
        // Only one of Content-Length and Transfer-Encoding, at most once.
        prop_assert!(response.count("Content-Length") + response.count("Transfer-Encoding") <= 1);
        // A connection stays open only when the body's end is known and
        // nobody asked to close.
        let unknown_length = case.app_length.is_none() && !case.single_buffer && case.chunks.len() != 1;
        let delimited_by_close = !no_body && !case.http11 && unknown_length;
        if !case.head {
            prop_assert_eq!(delimited_by_close, response.framing == "close");
        }
        let short = !case.head && !no_body && case.app_length.is_some_and(|l| (all.len() as u64) < l);
        let should_close = case.close_after || delimited_by_close || short;
        prop_assert_eq!(outcome.close, should_close);
        prop_assert_eq!(response.header("Connection") == Some("close"), case.close_after || delimited_by_close);
        if !case.http11 && !outcome.close {
            prop_assert_eq!(response.header("Connection"), Some("keep-alive"));
        }
    }
}
