//! A generic JSON webhook: one `POST` of a JSON document to an operator's URL, retried with
//! jittered exponential backoff ([`crate::backoff::Backoff`]) until the receiver answers 2xx or
//! the attempts run out.
//!
//! Retried: transport errors (refused, reset, timeout), `429 Too Many Requests` and `5xx`
//! (RFC 9110 §15.6: the server failed, the same request may succeed later). Not retried: any
//! other `4xx` (the receiver understood and refused the document; sending it again cannot help),
//! and `3xx` (redirects are not followed: a notification must reach the URL the operator gave).

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::backoff::Backoff;
use crate::clock::Random;

/// A bad webhook URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("webhook url {url:?}: {reason}")]
pub struct WebhookError {
    /// The URL as given.
    pub url: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Where notifications go, and how hard to try.
#[derive(Debug, Clone)]
pub struct Webhook {
    url: reqwest::Url,
    client: reqwest::Client,
    attempts: u32,
    first_delay: Duration,
    max_delay: Duration,
}

/// What became of one notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Requests sent (1 when the first succeeded).
    pub attempts: u32,
    /// The receiver's 2xx status, or why it was given up (the last error).
    pub outcome: Result<u16, String>,
    /// From the first request to the outcome, ms.
    pub elapsed_ms: u64,
}

impl Webhook {
    /// Checks `url` (absolute `http` or `https`, with a host) and prepares a client with a 5 s
    /// timeout per request, 5 attempts, delays from 1 s doubling to 30 s.
    pub fn new(url: &str) -> Result<Webhook, WebhookError> {
        let bad = |reason: &str| WebhookError { url: url.to_string(), reason: reason.to_string() };
        let parsed = reqwest::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(bad("the scheme must be http or https"));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(bad("no host"));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("haproxy-fleet/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| bad(&format!("cannot build an http client: {e}")))?;
        Ok(Webhook { url: parsed, client, attempts: 5, first_delay: Duration::from_secs(1), max_delay: Duration::from_secs(30) })
    }

    /// The same webhook with another retry schedule: `attempts` requests at most (at least 1),
    /// delays from `first` doubling to `max`.
    pub fn with_retries(mut self, attempts: u32, first: Duration, max: Duration) -> Webhook {
        self.attempts = attempts.max(1);
        self.first_delay = first;
        self.max_delay = max;
        self
    }

    /// The URL.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// POSTs `document` as `application/json` until a 2xx answer, a final refusal or the last
    /// attempt; never fails, the [`Delivery`] says what happened.
    pub async fn deliver(&self, document: &Value, random: &dyn Random) -> Delivery {
        let started = Instant::now();
        let mut backoff = Backoff::new(self.first_delay, self.max_delay);
        let body = document.to_string();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let request = self.client.post(self.url.clone()).header(reqwest::header::CONTENT_TYPE, "application/json").body(body.clone());
            let (retry, outcome) = match request.send().await {
                Ok(response) if response.status().is_success() => (false, Ok(response.status().as_u16())),
                Ok(response) => {
                    let status = response.status();
                    let retry = status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS;
                    (retry, Err(format!("the receiver answered {status}")))
                }
                Err(e) => (true, Err(crate::with_causes(&e))),
            };
            if !retry || outcome.is_ok() || attempts >= self.attempts {
                let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                return Delivery { attempts, outcome, elapsed_ms };
            }
            tokio::time::sleep(backoff.next_delay(random)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;
    use crate::clock::SeededRandom;

    /// A receiver answering each request with the next status of `statuses`, keeping bodies.
    async fn receiver(statuses: Vec<u16>) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let kept = bodies.clone();
        tokio::spawn(async move {
            for status in statuses {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                // Read the head, then as many body bytes as Content-Length says.
                loop {
                    let n = stream.read(&mut buf).await.unwrap();
                    request.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&request).to_string();
                    if let Some(head_end) = text.find("\r\n\r\n") {
                        let length = text[..head_end]
                            .lines()
                            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap()))
                            .unwrap_or(0);
                        if request.len() >= head_end + 4 + length || n == 0 {
                            kept.lock().unwrap().push(text);
                            break;
                        }
                    }
                }
                let answer = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                stream.write_all(answer.as_bytes()).await.unwrap();
            }
        });
        (url, bodies)
    }

    fn quick(url: &str) -> Webhook {
        Webhook::new(url).unwrap().with_retries(4, Duration::from_millis(5), Duration::from_millis(20))
    }

    #[tokio::test]
    async fn a_failing_receiver_is_retried_until_it_accepts() {
        let (url, bodies) = receiver(vec![503, 429, 200]).await;
        let delivery = quick(&url).deliver(&serde_json::json!({"event": "test", "n": 1}), &SeededRandom::new(1)).await;
        assert_eq!((delivery.attempts, delivery.outcome), (3, Ok(200)));
        let bodies = bodies.lock().unwrap();
        assert!(bodies.iter().all(|b| b.starts_with("POST /hook HTTP/1.1") && b.ends_with(r#"{"event":"test","n":1}"#)), "{bodies:?}");
        assert!(bodies[0].to_ascii_lowercase().contains("content-type: application/json"));
    }

    #[tokio::test]
    async fn a_refusal_is_final_and_attempts_are_bounded() {
        let (url, _) = receiver(vec![400]).await;
        let delivery = quick(&url).deliver(&serde_json::json!({}), &SeededRandom::new(1)).await;
        assert_eq!(delivery.attempts, 1);
        assert!(delivery.outcome.unwrap_err().contains("400"));
        let (url, _) = receiver(vec![500, 500, 500, 500, 500]).await;
        let delivery = quick(&url).deliver(&serde_json::json!({}), &SeededRandom::new(1)).await;
        assert_eq!(delivery.attempts, 4);
        assert!(delivery.outcome.unwrap_err().contains("500"));
        // Nothing listens: transport errors are retried, then reported with their cause.
        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
        let delivery = quick(&format!("http://{closed}/")).deliver(&serde_json::json!({}), &SeededRandom::new(1)).await;
        assert_eq!(delivery.attempts, 4);
        assert!(delivery.outcome.unwrap_err().to_lowercase().contains("refused"));
    }

    #[test]
    fn urls_are_checked() {
        assert!(Webhook::new("https://hooks.example.com/x?y=1").is_ok());
        for bad in ["ftp://example.com/", "not a url", "/relative", "http://"] {
            assert!(Webhook::new(bad).is_err(), "{bad}");
        }
    }
}
