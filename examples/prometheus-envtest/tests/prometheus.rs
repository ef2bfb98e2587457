//! The Prometheus these crates build is the one the Rule Loader needs: it
//! loads rule files from a glob, reloads them on `POST /-/reload`, reports
//! them on `/api/v1/rules`, evaluates recording rules over its own scrapes,
//! and refuses a bad file on reload while keeping the rules it had.

use std::time::{Duration, Instant};

use prometheus_envtest::{PROMETHEUS_RELEASE, Prometheus, PrometheusConfig};

fn eventually(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?}: {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn loads_reloads_evaluates_and_refuses_bad_rule_files() {
    let dir = std::env::temp_dir().join(format!("prometheus-envtest-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    let started = Instant::now();
    let mut prometheus = Prometheus::start(
        &dir.join("server"),
        PrometheusConfig::rules(format!("{}/*.yaml", rules.display())),
    )
    .unwrap();
    eprintln!("built (if needed) and started in {:?}", started.elapsed());

    let (status, body) = prometheus.get("/api/v1/status/buildinfo").unwrap();
    assert_eq!(status, 200);
    assert!(
        body.contains(&format!("\"version\":\"{PROMETHEUS_RELEASE}\"")),
        "{body}"
    );

    std::fs::write(
        rules.join("a.yaml"),
        "groups: [{name: self, rules: [{record: 'job:up:sum', expr: 'sum by (job) (up)'}]}]\n",
    )
    .unwrap();
    assert_eq!(prometheus.post("/-/reload").unwrap().0, 200);
    let (_, body) = prometheus.get("/api/v1/rules").unwrap();
    assert!(body.contains("\"name\":\"self\""), "{body}");
    eventually("a sample of job:up:sum", Duration::from_secs(30), || {
        let (_, body) = prometheus.get("/api/v1/query?query=job:up:sum").unwrap();
        body.contains("\"job\":\"prometheus\"")
    });

    // A bad file fails the whole reload; the rules loaded before stay.
    std::fs::write(
        rules.join("b.yaml"),
        "groups: [{name: bad, rules: [{record: x, expr: 'up{'}]}]\n",
    )
    .unwrap();
    let (status, body) = prometheus.post("/-/reload").unwrap();
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("failed to reload"), "{body}");
    let (_, body) = prometheus.get("/api/v1/rules").unwrap();
    assert!(body.contains("\"name\":\"self\"") && !body.contains("\"name\":\"bad\""));

    // Stopped and started again on the same port and data.
    prometheus.stop();
    assert!(prometheus.get("/-/ready").is_err());
    std::fs::remove_file(rules.join("b.yaml")).unwrap();
    prometheus.restart().unwrap();
    let (_, body) = prometheus.get("/api/v1/rules").unwrap();
    assert!(body.contains("\"name\":\"self\""), "{body}");
    drop(prometheus);
    let _ = std::fs::remove_dir_all(&dir);
}
