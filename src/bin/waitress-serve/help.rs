//! `waitress-serve --help`: the usage and this binary's own flags, then
//! every setting with its default, from [`waitress::config::help_text`]
//! (generated from the table of settings, so it cannot miss one).
#![forbid(unsafe_code)]

/// `waitress-serve --help`.
pub fn help_text() -> String {
    format!("{USAGE}\n{}", waitress::config::help_text())
}

/// The part of `--help` that is this binary's own, wrapped by hand to fit
/// 80 columns as the settings are.
const USAGE: &str = "\
Usage:
    waitress-serve [OPTIONS] [APP]

Serves an application over HTTP/1.1. APP is one of:
    hello        Hello, world! (and 1 MiB at /big)
    echo         the request body back; the environ at /environ
    static:DIR   the files under DIR (a directory path alone works too)

Standard options:
    --help
        Show this information.
    --version
        Print the version.
    --config=FILE[#NAME]
        Read settings from the [server:NAME] section of a PasteDeploy ini file
        (NAME: main). Flags override it; an address given by flags replaces
        the file's. Errors name the file and line.
    --app=APP
        The application to serve (or give it as the one argument): hello, echo,
        static:DIR, or a directory (served as static:DIR).
    --log-level=LEVEL
        error, warn, info or debug: the most detailed server log lines written
        to stderr. [info]
    --access-log[=FILE]
        Write an access log line per request: to stderr, or appended to FILE.
        SIGHUP reopens FILE (after logrotate moved it). [off]
    --access-log-format=FORMAT
        common (Apache CLF), combined (CLF + referer and user agent) or timed
        (combined + duration in microseconds). [combined]
    --cache-control=VALUE
        The Cache-Control header of static:DIR's files, e.g. no-cache (always
        revalidate: a 304 when the ETag matches) or max-age=3600. [none]
";
