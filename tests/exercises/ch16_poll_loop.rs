//! The exercises of chapter 16: The poll loop.

use waitress::server::Signal;

// ---------------------------------------------------------------------------
// Chapter 16: The poll loop
// ---------------------------------------------------------------------------

#[test]
#[ignore = "exercise: chapter 16"]
fn ch16_sighup_is_a_signal() {
    let hangup = Signal::from_number(1).expect("SIGHUP is one of ours");
    assert_eq!(hangup.number(), 1);
    assert_eq!(hangup.name(), "SIGHUP");
    assert_eq!(hangup.to_string(), "SIGHUP");
}

#[test]
#[ignore = "exercise: chapter 16"]
fn ch16_sigusr1_has_a_number_per_platform() {
    // SIGUSR1 is 10 on Linux and 30 on macOS and the BSDs.
    let number = if cfg!(target_os = "linux") { 10 } else { 30 };
    let user = Signal::from_number(number).expect("SIGUSR1 is one of ours");
    assert_eq!(user.number(), number);
    assert_eq!(user.name(), "SIGUSR1");
}
