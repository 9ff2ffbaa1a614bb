//! The smallest application: `Hello, world!`, and a 1 MiB body at `/big`
//! (the two pages the benchmark harness asks for). The application itself is
//! `waitress::apps::hello` (`waitress-serve hello` serves it too); this file
//! shows how a program serves it.
//!
//! Run it: `cargo run --example hello`. It serves on
//! 127.0.0.1:8080; `cargo run --example hello -- --port 9000` picks another port.

pub use waitress::apps::hello;

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 127.0.0.1:8080 unless flags say otherwise: `-- --port 9000`, `-- --threads 8`, …
    let adjustments = waitress::Adjustments::builder()
        .host("127.0.0.1")
        .port(8080)
        .args(std::env::args().skip(1))?
        .build()?;
    waitress::serve(hello, adjustments)?;
    Ok(())
}
