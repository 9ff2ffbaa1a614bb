//! Transfer-Encoding and chunked bodies: sizes, extensions, trailers, limits.

use crate::{
    Outcome, body_of, detail, error, error_with, feed, feed_with, request, small_limits, status,
};
use waitress::http::parser::{Limits, ParseError, RequestParser, Status};

fn chunked(body: &[u8]) -> Vec<u8> {
    [
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".as_slice(),
        body,
    ]
    .concat()
}

#[test]
fn chunked_body_is_decoded_and_framing_headers_rewritten() {
    // D01
    let mut request = request(&chunked(
        b"5\r\nhello\r\n6;ext=1;e2=\"q\"\r\n world\r\n0\r\n\r\n",
    ));
    assert_eq!(body_of(&mut request), b"hello world");
    assert_eq!(request.header("CONTENT_LENGTH"), Some("11"));
    assert_eq!(request.header("TRANSFER_ENCODING"), None);
}

#[test]
fn empty_chunked_body() {
    // D02
    let request = request(&chunked(b"0\r\n\r\n"));
    assert_eq!(request.header("CONTENT_LENGTH"), Some("0"));
    assert!(request.body.is_empty());
}

#[test]
fn many_chunks_arriving_separately() {
    // D03
    let mut parser = RequestParser::new(Limits::default());
    let head = chunked(b"");
    assert!(matches!(parser.received(&head).status, Status::NeedMore));
    for _ in 0..12 {
        let chunk = [b"20\r\n".as_slice(), &[b'z'; 32], b"\r\n"].concat();
        assert!(matches!(parser.received(&chunk).status, Status::NeedMore));
    }
    let Status::Complete(request) = parser.received(b"0\r\n\r\n").status else {
        panic!()
    };
    assert_eq!(request.header("CONTENT_LENGTH"), Some("384"));
}

#[test]
fn chunk_sizes_and_te_values_are_case_insensitive() {
    // D04
    let mut sizes = request(&chunked(b"A\r\n0123456789\r\n0005\r\nabcde\r\n0\r\n\r\n"));
    assert_eq!(body_of(&mut sizes), b"0123456789abcde");
    for te in ["CHUNKED", "ChUnKed", "chunked ", ",chunked", "chunked,"] {
        // D16: empty list elements are ignored
        let wire =
            format!("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: {te}\r\n\r\n0\r\n\r\n");
        assert!(request(wire.as_bytes()).body.is_empty(), "{te:?}");
    }
}

#[test]
fn trailer_fields_are_validated_and_discarded() {
    // D05
    let request = request(&chunked(b"1\r\na\r\n0\r\nX-T: 1\r\nExpires: never\r\n\r\n"));
    assert_eq!(request.header("X_T"), None);
    assert_eq!(
        error(&chunked(b"0\r\nX-T : 1\r\n\r\n")),
        ParseError::WhitespaceBeforeColon
    );
    assert_eq!(
        error(&chunked(b"0\r\nX-T: a\x00\r\n\r\n")),
        ParseError::InvalidHeaderValue
    );
    assert_eq!(
        error(&chunked(b"0\r\nX-T: 1\n\r\n")),
        ParseError::BareLineFeed
    );
    assert_eq!(
        error(&chunked(b"0\r\nX-T: 1\r\n folded\r\n\r\n")),
        ParseError::ObsoleteLineFolding
    );
}

#[test]
fn trailer_section_at_the_header_limit_is_431() {
    let limits = small_limits(100, 1000);
    let trailer = format!("0\r\nX: {}\r\n\r\n", "t".repeat(120));
    let (error, _) = error_with(limits, &chunked(trailer.as_bytes()));
    assert_eq!(error, ParseError::TrailerSectionTooLarge { limit: 100 });
    assert_eq!(error.status(), 431);
}

#[test]
fn invalid_chunk_sizes_are_400() {
    // D06
    for size in [
        "0x5", "0x20", "+0x04", "x04", "+04", " 04", " 0x04", "5 ", "5\t", "5 x", "5 =a", "-1",
        "g", "",
    ] {
        let wire = chunked(format!("{size}\r\nhello\r\n0\r\n\r\n").as_bytes());
        assert_eq!(error(&wire), ParseError::InvalidChunkSize, "{size:?}");
        assert_eq!(detail(&wire), "Invalid chunk size", "{size:?}");
    }
}

#[test]
fn chunk_size_of_more_than_16_hex_digits_is_400_and_says_too_large() {
    for wire in [
        chunked(b"00000000000000005\r\nhello\r\n0\r\n\r\n"),
        chunked(b"10000000000000000\r\n"),
    ] {
        assert_eq!(status(&wire), 400);
        assert_eq!(detail(&wire), "Chunk size is too large");
    }
}

#[test]
fn invalid_chunk_extensions_are_400() {
    // D07
    for extension in [
        ";",
        ";invalid=",
        ";a=\"open",
        ";a=b c",
        ";=b",
        ";a=\"\x01\"",
        // BWS belongs before `;` and around `=`, never before the CRLF.
        "; ",
        ";a ",
        ";a=b ",
        ";a=\"x\"\t",
        ";a= ",
        "; =b",
        ";a = ",
        ";a b",
        ";a=\"x\" y",
        " ; ;b",
        // Only SP and HTAB are whitespace.
        ";a\x0b=b",
        "\x0c;a",
    ] {
        let wire = chunked(format!("4{extension}\r\nWiki\r\n0\r\n\r\n").as_bytes());
        let expected = if extension.starts_with('\x0c') {
            "Invalid chunk size" // not whitespace: the size goes on
        } else {
            "Invalid chunk extension"
        };
        assert_eq!(status(&wire), 400, "{extension:?}");
        assert_eq!(detail(&wire), expected, "{extension:?}");
    }
    assert_eq!(error(&chunked(b"4 ;a =\nb")), ParseError::BareLineFeed);
    assert_eq!(
        error(&chunked(b"4 ;a\r b\r\n")),
        ParseError::BareCarriageReturn
    );
    assert_eq!(error(&chunked(b"4;\n")), ParseError::BareLineFeed);
    assert_eq!(
        error(&chunked(b"4;a\r\r\n")),
        ParseError::BareCarriageReturn
    );
}

#[test]
fn valid_chunk_extensions_are_ignored() {
    // D08
    for extension in [
        ";test",
        ";valid=true",
        ";valid=true;other=true",
        ";e2=\"q\"",
        ";q=\"a\\\"b\"",
        // RFC 9112 §7.1.1 has BWS around `;` and `=`, and RFC 9110 §5.6.3
        // says a recipient MUST parse it.
        " ; name = value",
        ";name=\"quoted value\"",
        " ;a;b=c",
        "\t;\ta\t=\t\"x y\"\t ;b ;c",
        ";a ;b = c ; d",
    ] {
        let wire = chunked(format!("4{extension}\r\nWiki\r\n0{extension}\r\n\r\n").as_bytes());
        assert_eq!(request(&wire).body.len(), 4, "{extension:?}");
    }
}

#[test]
fn chunk_extensions_are_bounded() {
    let long = format!("1;a={}\r\nx\r\n0\r\n\r\n", "v".repeat(20_000));
    assert_eq!(
        error(&chunked(long.as_bytes())),
        ParseError::ChunkExtensionsTooLarge
    );
    // Whitespace counts too: endless BWS is refused like an endless name.
    for spaces in [
        format!("1{};a\r\nx\r\n0\r\n\r\n", " ".repeat(20_000)),
        format!("1;a{}=b\r\nx\r\n0\r\n\r\n", "\t".repeat(20_000)),
    ] {
        assert_eq!(
            error(&chunked(spaces.as_bytes())),
            ParseError::ChunkExtensionsTooLarge
        );
    }
}

#[test]
fn chunk_data_must_be_followed_by_exactly_crlf() {
    // D09
    assert_eq!(
        error(&chunked(b"5\r\nhelloXX0\r\n\r\n")),
        ParseError::ChunkNotTerminated
    );
    assert_eq!(
        error(&chunked(b"5\r\nhello\n0\r\n\r\n")),
        ParseError::BareLineFeed
    );
    assert_eq!(
        error(&chunked(b"5\r\nhello\rX0\r\n\r\n")),
        ParseError::ChunkNotTerminated
    );
    assert_eq!(
        error(&chunked(b"4\r\nWikibadchunk\r\n")),
        ParseError::ChunkNotTerminated
    );
}

#[test]
fn garbage_instead_of_a_size_line_is_400() {
    // D10
    assert_eq!(
        error(&chunked(b"5\r\nhello\r\ngarbage\r\n")),
        ParseError::InvalidChunkSize
    );
}

#[test]
fn chunks_split_at_cr_and_lf() {
    // D11
    let wire = chunked(b"4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n");
    let mut request = request(&wire); // `request` also feeds it byte by byte
    assert_eq!(body_of(&mut request), b"Wikipedia in\r\n\r\nchunks.");
}

#[test]
fn bare_lf_after_chunk_size_is_400_unlike_waitress() {
    // D12: Python's `$` lets Waitress accept `5\n` and `5;a\n`.
    assert_eq!(
        error(&chunked(b"5\n\r\nhello\r\n0\r\n\r\n")),
        ParseError::BareLineFeed
    );
    assert_eq!(
        error(&chunked(b"5;a\n\r\nhello\r\n0\r\n\r\n")),
        ParseError::BareLineFeed
    );
}

#[test]
fn blank_line_between_chunks_is_400_unlike_waitress() {
    // D13
    assert_eq!(
        error(&chunked(b"5\r\nhello\r\n\r\n0\r\n\r\n")),
        ParseError::InvalidChunkSize
    );
}

#[test]
fn transfer_codings_other_than_chunked_are_501() {
    // D14, CVE-2019-16786 and CVE-2019-16789 (\x85 is not whitespace)
    for te in [
        &b"gzip, chunked"[..],
        b"identity",
        b"foo",
        b"gzip",
        b"\x85chunked",
        b"chun\xe2\x84\xaaed",
    ] {
        let mut wire = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ".to_vec();
        wire.extend_from_slice(te);
        wire.extend_from_slice(b"\r\n\r\n0\r\n\r\n");
        let error = error(&wire);
        assert_eq!(error, ParseError::UnsupportedTransferCoding, "{te:?}");
        assert_eq!(error.status(), 501);
    }
    assert_eq!(
        error(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"),
        ParseError::UnsupportedTransferCoding
    );
}

#[test]
fn chunked_not_last_is_400() {
    // D14, unlike Waitress (501): RFC 9112 §6.3 calls this a 400.
    assert_eq!(
        error(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
        ParseError::InvalidTransferEncoding
    );
}

#[test]
fn chunked_twice_is_400() {
    // D15: Waitress HEAD answers 501, 3.0.2 accepts; a doubled chunked is a
    // framing error (RFC 9112 §6.1: MUST NOT apply chunked more than once).
    assert_eq!(
        error(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked,chunked\r\n\r\n"),
        ParseError::InvalidTransferEncoding
    );
    assert_eq!(
        error(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
        ParseError::InvalidTransferEncoding
    );
    assert_eq!(
        error(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \r\n\r\n"),
        ParseError::InvalidTransferEncoding
    );
}

#[test]
fn te_and_cl_chunked_wins_and_the_connection_closes_unlike_waitress() {
    // D17: Waitress sets the close flag but never reads it (Q1).
    let wire = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /second HTTP/1.1\r\n";
    let (consumed, outcome) = feed(wire);
    let Outcome::Complete(mut request) = outcome else {
        panic!()
    };
    assert!(request.close_after);
    assert_eq!(body_of(&mut request), b"abc");
    assert_eq!(request.header("CONTENT_LENGTH"), Some("3"));
    assert_eq!(
        request
            .headers()
            .filter(|&(name, _)| name == "CONTENT_LENGTH")
            .count(),
        1
    );
    assert_eq!(&wire[consumed..], b"GET /second HTTP/1.1\r\n");
}

#[test]
fn te_on_http10_is_400_unlike_waitress() {
    // D18: Waitress ignores it and frames by Content-Length.
    assert_eq!(
        error(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
        ParseError::TransferEncodingInHttp10
    );
}

#[test]
fn chunked_limit_counts_decoded_bytes_unlike_waitress() {
    // D19: Waitress counts wire bytes (framing included); the limit here means
    // the same for both framings: the body the application sees.
    let limits = small_limits(1000, 10);
    let ok = feed_with(limits, &chunked(b"3\r\nabc\r\n0\r\n\r\n"));
    assert!(matches!(ok.1, Outcome::Complete(_)));
    let nine = feed_with(limits, &chunked(b"5\r\nhello\r\n4\r\nabcd\r\n0\r\n\r\n"));
    assert!(matches!(nine.1, Outcome::Complete(_)));
}

#[test]
fn chunk_reaching_the_body_limit_is_413_before_its_data() {
    // D21, D20 (Waitress: 413 after reading; here: as soon as the size is
    // read). Waitress's D21 bytes `1d;` end in an empty extension, which is a
    // 400 here: Waitress's size check runs before its framing checks.
    let limits = small_limits(1000, 10);
    assert_eq!(
        error_with(limits, &chunked(b"1d;\r\n")).0,
        ParseError::InvalidChunkExtension
    );
    let (_, outcome) = feed_with(limits, &chunked(b"1d\r\n"));
    assert!(matches!(
        outcome,
        Outcome::Error(ParseError::BodyTooLarge { limit: 10 }, _)
    ));
    let two = chunked(b"5\r\nhello\r\n5\r\nworld\r\n");
    assert_eq!(
        error_with(limits, &two).0,
        ParseError::BodyTooLarge { limit: 10 }
    );
    let missing_crlf = chunked(&[b"20\r\n".as_slice(), &[b'x'; 32]].concat().repeat(3));
    assert_eq!(
        error_with(small_limits(1000, 1000), &missing_crlf).0,
        ParseError::ChunkNotTerminated
    );
}
