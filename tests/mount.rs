//! The prefix router, `waitress::apps::Mount`: which application a path
//! reaches, what `SCRIPT_NAME` and `PATH_INFO` it sees there, and the `404`
//! when nothing matches. In-process with `TestRequest`.

use proptest::prelude::*;

use waitress::apps::Mount;
use waitress::gateway::testing::TestRequest;
use waitress::gateway::{AppResult, Body, Environ, StartResponse, headers};

/// Answers `NAME SCRIPT_NAME|PATH_INFO`, so a test sees which application
/// ran and with what.
fn named(name: &'static str) -> impl Fn(&mut Environ, &mut dyn StartResponse) -> AppResult {
    move |environ: &mut Environ, start_response: &mut dyn StartResponse| {
        let text = format!(
            "{name} {}|{}",
            environ.get("SCRIPT_NAME").unwrap_or("<none>"),
            environ.path_info()
        );
        start_response.start_response("200 OK", headers(&[]), None)?;
        Ok(Body::from(text))
    }
}

fn router() -> Mount {
    Mount::new()
        .at("/api", named("api"))
        .at("/api/v2/", named("v2"))
        .at("/static", named("static"))
}

fn route(app: &Mount, target: &str) -> String {
    let response = TestRequest::get(target).call(app).unwrap();
    assert_eq!(response.status_code(), 200, "{target}");
    response.text()
}

#[test]
fn a_prefix_matches_itself_and_the_paths_below_it() {
    let app = router();
    assert_eq!(route(&app, "/api"), "api /api|");
    assert_eq!(route(&app, "/api/"), "api /api|/");
    assert_eq!(route(&app, "/api/users/7"), "api /api|/users/7");
    assert_eq!(route(&app, "/api/users/"), "api /api|/users/");
    assert_eq!(
        route(&app, "/static/a/b.css?v=1"),
        "static /static|/a/b.css"
    );
}

#[test]
fn a_prefix_matches_whole_segments_only() {
    let app = router();
    for target in ["/apix", "/ap", "/api.json", "/staticfiles/x", "/", "/API"] {
        let response = TestRequest::get(target).call(&app).unwrap();
        assert_eq!(response.status_code(), 404, "{target}");
    }
}

#[test]
fn the_longest_prefix_wins_whatever_the_order_of_mounting() {
    let app = router();
    assert_eq!(route(&app, "/api/v2"), "v2 /api/v2|");
    assert_eq!(route(&app, "/api/v2/items"), "v2 /api/v2|/items");
    assert_eq!(route(&app, "/api/v20"), "api /api|/v20");
    let reversed = Mount::new()
        .at("/api/v2", named("v2"))
        .at("/api", named("api"));
    assert_eq!(route(&reversed, "/api/v2/items"), "v2 /api/v2|/items");
    assert_eq!(route(&reversed, "/api/v1"), "api /api|/v1");
}

#[test]
fn mounting_the_same_prefix_again_replaces_the_application() {
    let app = Mount::new()
        .at("/a", named("first"))
        .at("a/", named("second"));
    assert_eq!(app.prefixes().collect::<Vec<_>>(), ["/a"]);
    assert_eq!(route(&app, "/a/x"), "second /a|/x");
}

#[test]
fn the_root_prefix_catches_everything_and_moves_nothing() {
    let app = router().at("/", named("root"));
    assert_eq!(route(&app, "/"), "root |/");
    assert_eq!(route(&app, "/apix"), "root |/apix");
    assert_eq!(route(&app, "/api/x"), "api /api|/x");
}

#[test]
fn an_existing_script_name_from_url_prefix_is_kept_in_front() {
    let app = router();
    let response = TestRequest::get("/site/api/users")
        .url_prefix("/site")
        .call(&app)
        .unwrap();
    assert_eq!(response.text(), "api /site/api|/users");
    // The server stripped /site already: the router sees PATH_INFO only.
    let response = TestRequest::get("/site/site/api")
        .url_prefix("/site")
        .call(&app)
        .unwrap();
    assert_eq!(response.status_code(), 404);
}

#[test]
fn routers_nest_and_each_moves_its_own_prefix() {
    let inner = Mount::new().at("/users", named("users"));
    let app = Mount::new().at("/api", inner);
    assert_eq!(route(&app, "/api/users/7"), "users /api/users|/7");
    assert_eq!(
        TestRequest::get("/api/groups")
            .call(&app)
            .unwrap()
            .status_code(),
        404
    );
}

#[test]
fn nothing_matching_is_a_plain_text_404() {
    let response = TestRequest::get("/nowhere").call(&router()).unwrap();
    assert_eq!(response.status, "404 Not Found");
    assert_eq!(
        response.header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(response.text(), "404 Not Found\n");
    assert_eq!(response.header("Content-Length"), Some("14"));
    let head = TestRequest::head("/nowhere").call(&router()).unwrap();
    assert_eq!(head.status_code(), 404);
}

#[test]
fn a_fallback_gets_the_unmatched_requests_unchanged() {
    let app = router().fallback(named("fallback"));
    assert_eq!(route(&app, "/apix"), "fallback |/apix");
    assert_eq!(route(&app, "/api/x"), "api /api|/x");
    let response = TestRequest::get("/x/y")
        .url_prefix("/x")
        .call(&app)
        .unwrap();
    assert_eq!(response.text(), "fallback /x|/y");
}

#[test]
fn matching_runs_on_the_decoded_path() {
    let app = router().at("/caf\u{e9}", named("cafe"));
    // PATH_INFO is decoded: %70 is p, and %2F is a slash like any other.
    assert_eq!(route(&app, "/a%70i/x"), "api /api|/x");
    assert_eq!(route(&app, "/api%2Fx"), "api /api|/x");
    assert_eq!(route(&app, "/api/a%20b"), "api /api|/a b");
    // A UTF-8 prefix matches its percent-encoded bytes (one char per byte).
    assert_eq!(
        route(&app, "/caf%C3%A9/menu"),
        "cafe /caf\u{c3}\u{a9}|/menu"
    );
    let not_found = TestRequest::get("/api%78").call(&app).unwrap();
    assert_eq!(not_found.status_code(), 404, "/apix");
}

#[test]
fn unnormalised_paths_match_only_what_they_spell() {
    let app = router();
    // The server collapses leading slashes (`//api` is `/api`), nothing more.
    assert_eq!(route(&app, "//api/x"), "api /api|/x");
    for target in ["/./api", "/x/../api", "/api/../static"] {
        let response = TestRequest::get(target).call(&app).unwrap();
        let expected = if target.starts_with("/api") { 200 } else { 404 };
        assert_eq!(response.status_code(), expected, "{target}");
    }
    assert_eq!(route(&app, "/api/../static"), "api /api|/../static");
}

/// Reports `SCRIPT_NAME` and `PATH_INFO` with a separator no path holds.
fn split(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    let text = format!(
        "{}\0{}",
        environ.get("SCRIPT_NAME").unwrap_or(""),
        environ.path_info()
    );
    start_response.start_response("200 OK", headers(&[]), None)?;
    Ok(Body::from(text))
}

proptest! {
    #[test]
    fn script_name_and_path_info_together_stay_the_path(
        path in "/[ab/.%2FC39A]{0,16}",
        url_prefix in prop_oneof![Just(""), Just("/a")],
    ) {
        let app = Mount::new()
            .at("/a", split)
            .at("/a/b", split)
            .at("/ab/a", split)
            .fallback(split);
        let response = TestRequest::get(&path).url_prefix(url_prefix).call(&app).unwrap();
        let request = TestRequest::get(&path).url_prefix(url_prefix);
        let environ = request.environ(waitress::logging::Logger::default());
        let original = format!(
            "{}{}",
            environ.get("SCRIPT_NAME").unwrap_or(""),
            environ.path_info()
        );
        let text = response.text();
        let (script_name, path_info) = text.split_once('\0').unwrap();
        prop_assert_eq!(format!("{script_name}{path_info}"), original);
        // What moved is whole segments: PATH_INFO is empty or starts a segment.
        prop_assert!(path_info.is_empty() || path_info.starts_with('/'), "{}", path_info);
    }
}
