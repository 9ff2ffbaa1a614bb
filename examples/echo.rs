//! An application that sends the request body back, and shows the environ at
//! `/environ`: handy for trying uploads, chunked requests and headers. The
//! application itself is `waitress::apps::echo` (`waitress-serve echo`).
//!
//! Run it: `cargo run --example echo`. It serves on
//! 127.0.0.1:8080; try `curl --data-binary @Cargo.toml http://127.0.0.1:8080/`.

pub use waitress::apps::echo;

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let adjustments = waitress::Adjustments::builder()
        .host("127.0.0.1")
        .port(8080)
        .args(std::env::args().skip(1))?
        .build()?;
    waitress::serve(echo, adjustments)?;
    Ok(())
}
