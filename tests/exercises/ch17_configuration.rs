//! The exercises of chapter 17: Configuration: Adjustments.

use waitress::config::{self, Adjustments};

// ---------------------------------------------------------------------------
// Chapter 17: Configuration: Adjustments
// ---------------------------------------------------------------------------

#[test]
#[ignore = "exercise: chapter 17"]
fn ch17_max_request_header_count_is_a_setting() {
    let spec =
        config::option("max_request_header_count").expect("OPTIONS has max_request_header_count");
    assert_eq!(spec.default, "100");
    assert_eq!(spec.flag(), "--max-request-header-count");
    Adjustments::builder()
        .set("max_request_header_count", "3")
        .expect("the key is known")
        .build()
        .expect("3 is a valid count");
}

#[test]
#[ignore = "exercise: chapter 17"]
fn ch17_max_request_header_count_must_be_at_least_one() {
    let builder = Adjustments::builder()
        .set("max_request_header_count", "0")
        .expect("the key is known");
    let error = builder.build().expect_err("0 fields is refused");
    assert!(
        error.to_string().contains("max_request_header_count"),
        "the error names the setting: {error}"
    );
    let help = waitress::config::help_text();
    assert!(help.contains("--max-request-header-count"), "{help}");
}

#[test]
#[ignore = "exercise: chapter 17"]
fn ch17_byte_sizes_accept_units() {
    let adjustments = Adjustments::builder()
        .set("max_request_body_size", "2G")
        .unwrap()
        .set("inbuf_overflow", "512K")
        .unwrap()
        .set("outbuf_high_watermark", "16m")
        .unwrap()
        .build()
        .expect("K, M and G are accepted for byte sizes");
    assert_eq!(adjustments.max_request_body_size, 2 << 30);
    assert_eq!(adjustments.inbuf_overflow, 512 << 10);
    assert_eq!(adjustments.outbuf_high_watermark, 16 << 20);
    for (key, value) in [
        ("threads", "4K"),
        ("max_request_body_size", "1.5M"),
        ("max_request_body_size", "10MB"),
        ("max_request_body_size", "M"),
        ("max_request_body_size", "99999999999G"),
    ] {
        let built = Adjustments::builder().set(key, value).unwrap().build();
        assert!(built.is_err(), "{key} = {value} was accepted");
    }
}
