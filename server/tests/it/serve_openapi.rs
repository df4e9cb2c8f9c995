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
        ["get /api/v1/health", "get /api/v1/openapi.json", "get /install/agent.sh", "get /install/fleet-agent", "get /metrics",
            "post /api/v1/agent/enroll", "post /api/v1/auth/login", "post /api/v1/auth/login/mfa"]
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

    // A cluster's or pool's {id} is documented as the API takes it: an id or a name.
    for path in ["/api/v1/clusters/{id}/status", "/api/v1/pools/{id}/failover"] {
        let parameter = paths[path]["get"]["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "id").unwrap().clone();
        let kinds: Vec<&str> = parameter["schema"]["oneOf"].as_array().unwrap().iter().map(|k| k["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["integer", "string"], "{path}: {parameter}");
    }

    // And a route that is not documented is not served either.
    let undocumented = s.send(s.request(Method::GET, "/api/v1/secret-admin", None)).await;
    assert_eq!(undocumented.code(), "no_route");
}

/// Operations whose success body has no schema yet (their types live in fleet-core's
/// certificate and ACME modules, which landed after the document was typed). This list may only
/// shrink: a new route must say `body = ...`.
const UNTYPED: &[&str] = &[];

/// What tools need from the document (issue 12 §6): every operation has a unique operationId, a
/// success answer with a schema (unless it answers no body: 204, 304), and error answers with
/// the shared `Error` schema, including the ones every route of its shape can give. A route
/// added without `body = ...` on its success answer fails here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_have_unique_ids_and_schemas_for_bodies_and_errors() {
    let Some(s) = start(Db::Sqlite).await else { return };
    let document = s.send(s.request(Method::GET, "/api/v1/openapi.json", None)).await.expect(200);
    let schemas = document["components"]["schemas"].as_object().unwrap();
    assert!(schemas.contains_key("Error") && schemas.contains_key("ErrorDetail"), "no shared Error schema");

    let mut ids = std::collections::BTreeMap::new();
    let mut problems = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let name = format!("{method} {path}");
            match op["operationId"].as_str() {
                Some(id) => {
                    if let Some(other) = ids.insert(id.to_string(), name.clone()) {
                        problems.push(format!("{name}: operationId {id} is also {other}"));
                    }
                }
                None => problems.push(format!("{name}: no operationId")),
            }
            let responses = op["responses"].as_object().unwrap();
            let untyped = UNTYPED.contains(&op["operationId"].as_str().unwrap_or_default());
            let successes: Vec<_> = responses.keys().filter(|status| status.starts_with('2')).collect();
            if successes.is_empty() {
                problems.push(format!("{name}: no success answer"));
            }
            for (status, response) in responses {
                let content = response["content"].as_object();
                let has_schema = content.is_some_and(|c| !c.is_empty() && c.values().all(|media| media.get("schema").is_some()));
                match status.as_str() {
                    "204" | "304" => {}
                    s if s.starts_with('2') && !has_schema && !untyped => problems.push(format!("{name}: {status} has no schema")),
                    s if s >= "400" => {
                        let schema = &response["content"]["application/json"]["schema"]["$ref"];
                        if schema != "#/components/schemas/Error" {
                            problems.push(format!("{name}: {status} is not an Error"));
                        }
                    }
                    _ => {}
                }
            }
            // Statuses every route of this shape can answer.
            let secured = op["security"] != serde_json::json!([{}]);
            let has_path_params = op["parameters"].as_array().is_some_and(|p| p.iter().any(|p| p["in"] == "path"));
            let has_body = op.get("requestBody").is_some();
            let expected = [(secured, "401"), (secured, "403"), (has_path_params, "404"), (has_body, "413"), (has_body, "422")];
            for (_, status) in expected.iter().filter(|(applies, _)| *applies) {
                if !responses.contains_key(*status) {
                    problems.push(format!("{name}: {status} is not documented"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Typed bodies: a staged op's body is its own schema with its required fields, and writes
    // that stage need the transaction.
    let add_server = &document["paths"]["/api/v1/clusters/{id}/backends/{name}/servers"]["post"];
    assert_eq!(add_server["requestBody"]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/NewServerBody");
    let required: Vec<&str> = schemas["NewServerBody"]["required"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
    assert!(required.contains(&"name") && required.contains(&"address"), "{required:?}");
    let transaction = add_server["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "transaction_id").unwrap();
    assert_eq!(transaction["required"], true);
    assert!(schemas["EditOp"].get("oneOf").is_some(), "edit ops are not typed");
}

/// `/api/docs` serves the API reference, and everything it loads comes from this server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_reference_page_loads_only_local_assets() {
    let Some(s) = start(Db::Sqlite).await else { return };
    let page = s.client.get(s.url("/api/docs")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let policy = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(policy.contains("default-src 'none'") && policy.contains("script-src 'self'"), "{policy}");
    let html = page.text().await.unwrap();

    // Every src= and href= is a relative link, resolved against /api/docs like a browser does.
    let mut links = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for piece in html.split(attribute).skip(1) {
            links.push(piece.split('"').next().unwrap().to_string());
        }
    }
    assert!(links.len() >= 3, "{links:?}");
    let mut loaded = Vec::new();
    for link in &links {
        assert!(!link.contains("//") && !link.starts_with('/'), "{link} is not a local relative link");
        let response = s.client.get(s.url(&format!("/api/{link}"))).send().await.unwrap();
        assert_eq!(response.status(), 200, "{link}");
        let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
        let body = response.text().await.unwrap();
        assert!(body.len() > 100, "{link} is empty");
        loaded.push((link.clone(), content_type, body));
    }
    assert!(loaded.iter().any(|(_, t, b)| t.starts_with("text/javascript") && b.contains("SwaggerUIBundle")));
    assert!(loaded.iter().any(|(_, t, _)| t.starts_with("text/css")));
    // The page starts Swagger UI on this server's document, without the external validator.
    let init = loaded.iter().find(|(link, _, _)| link.ends_with("init.js")).unwrap();
    assert!(init.2.contains("url: \"v1/openapi.json\"") && init.2.contains("validatorUrl: null"));
    s.send(s.request(Method::GET, "/api/v1/openapi.json", None)).await.expect(200);
}
