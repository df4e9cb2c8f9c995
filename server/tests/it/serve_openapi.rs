//! The OpenAPI document: it is served, it lists the routes DESIGN.md pins, and every operation it
//! lists is really routed (a request reaches a handler: never the `no_route` fallback, never 405).
//! Routes and document come from the same `#[utoipa::path]` declarations, so together this
//! checks that router and document agree.

use reqwest::Method;

use crate::serve_support::{start, Db};

/// The routes DESIGN.md pins, as (method, OpenAPI path).
const PINNED: &[(&str, &str)] = &[
    ("get", "/api/v1/health"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/pools"),
    ("post", "/api/v1/clusters"),
    ("post", "/api/v1/clusters/{id}/import"),
    ("get", "/api/v1/clusters/{id}/config"),
    ("put", "/api/v1/clusters/{id}/config"),
    ("post", "/api/v1/clusters/{id}/transactions"),
    ("put", "/api/v1/clusters/{id}/transactions/{tid}"),
    ("delete", "/api/v1/clusters/{id}/transactions/{tid}"),
    ("get", "/api/v1/clusters/{id}/backends"),
    ("post", "/api/v1/clusters/{id}/backends"),
    ("get", "/api/v1/clusters/{id}/backends/{name}"),
    ("put", "/api/v1/clusters/{id}/backends/{name}"),
    ("delete", "/api/v1/clusters/{id}/backends/{name}"),
    ("get", "/api/v1/clusters/{id}/backends/{name}/servers"),
    ("post", "/api/v1/clusters/{id}/backends/{name}/servers"),
    ("get", "/api/v1/clusters/{id}/backends/{name}/servers/{server}"),
    ("put", "/api/v1/clusters/{id}/backends/{name}/servers/{server}"),
    ("delete", "/api/v1/clusters/{id}/backends/{name}/servers/{server}"),
    ("get", "/api/v1/clusters/{id}/frontends"),
    ("post", "/api/v1/clusters/{id}/frontends"),
    ("get", "/api/v1/clusters/{id}/frontends/{name}"),
    ("get", "/api/v1/clusters/{id}/frontends/{name}/acls"),
    ("get", "/api/v1/clusters/{id}/frontends/{name}/rules"),
    ("get", "/api/v1/clusters/{id}/versions"),
    ("get", "/api/v1/clusters/{id}/versions/{n}/diff"),
    ("post", "/api/v1/clusters/{id}/versions/{n}/restore"),
    ("post", "/api/v1/clusters/{id}/apply"),
    ("post", "/api/v1/clusters/{id}/enrollments"),
    ("get", "/api/v1/clusters/{id}/status"),
    ("get", "/api/v1/agent/desired"),
    ("post", "/api/v1/agent/enroll"),
    ("post", "/api/v1/agent/report"),
    ("post", "/api/v1/agent/heartbeat"),
    ("get", "/api/v1/openapi.json"),
    ("get", "/metrics"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_documented_and_every_documented_route_is_routed() {
    let Some(s) = start(Db::Sqlite).await else { return };
    let document = s.send(s.request(Method::GET, "/api/v1/openapi.json", None)).await.expect(200);
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let paths = document["paths"].as_object().unwrap();
    for (method, path) in PINNED {
        assert!(paths.get(*path).and_then(|p| p.get(*method)).is_some(), "{method} {path} is not documented");
    }

    // Every operation needs the bearer token except the public ones.
    assert!(document["components"]["securitySchemes"]["bearer"].is_object());
    assert_eq!(document["security"], serde_json::json!([{"bearer": []}]));
    let mut public: Vec<String> = paths
        .iter()
        .flat_map(|(path, item)| item.as_object().unwrap().iter().map(move |(method, op)| (path, method, op)))
        .filter(|(_, _, op)| op["security"] == serde_json::json!([{}]))
        .map(|(path, method, _)| format!("{method} {path}"))
        .collect();
    public.sort();
    assert_eq!(
        public,
        ["get /api/v1/health", "get /api/v1/openapi.json", "get /metrics", "post /api/v1/agent/enroll", "post /api/v1/auth/login",
            "post /api/v1/auth/login/mfa"]
    );

    let mut operations = 0;
    for (path, item) in paths {
        for method in ["get", "post", "put", "delete", "patch"] {
            if item.get(method).is_none() {
                continue;
            }
            operations += 1;
            // Fill every {param} with a number: ids parse, names are just "1".
            let concrete = path.split('/').map(|seg| if seg.starts_with('{') { "1" } else { seg }).collect::<Vec<_>>().join("/");
            let reply = s.send(s.request(method.to_uppercase().parse().unwrap(), &concrete, None)).await;
            assert_ne!(reply.status, 405, "{method} {path}: method not routed");
            if reply.status == 404 {
                assert_ne!(reply.code(), "no_route", "{method} {path}: path not routed");
            }
        }
    }
    assert!(operations >= 50, "only {operations} operations documented");

    // And a route that is not documented is not served either.
    let undocumented = s.send(s.request(Method::GET, "/api/v1/secret-admin", None)).await;
    assert_eq!(undocumented.code(), "no_route");
}
