//! Every `ParseError`: its status, reason and detail.

use waitress::http::error::HttpError;
use waitress::http::parser::ParseError;

#[test]
fn every_error_maps_to_its_status_and_reason() {
    use ParseError::*;
    let cases = [
        (BareLineFeed, 400),
        (InvalidRequestLine, 400),
        (RequestLineTooLong { limit: 1 }, 414),
        (HeaderSectionTooLarge { limit: 1 }, 431),
        (TrailerSectionTooLarge { limit: 1 }, 431),
        (BodyTooLarge { limit: 1 }, 413),
        (UnsupportedExpectation, 417),
        (UnsupportedTransferCoding, 501),
        (ConnectNotSupported, 501),
        (UnsupportedVersion, 505),
        (BodyStorage("disk full".into()), 500),
    ];
    for (error, status) in cases {
        let http = HttpError::from(error.clone());
        assert_eq!(http.status, status, "{error:?}");
        assert!(!http.reason().is_empty());
        assert_eq!(http.detail, error.to_string());
    }
    assert_eq!(
        HttpError::from(HeaderSectionTooLarge { limit: 100 }).detail,
        "exceeds max_header of 100"
    );
}
