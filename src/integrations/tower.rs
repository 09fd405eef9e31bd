//! [`RulesLayer`]: a rule set as tower middleware (axum, hyper, tonic).
//!
//! Every request is built once into an [`HttpRequest`](crate::HttpRequest),
//! holding only the fields the current rule set reads (with the
//! connection's facts when its extensions hold a
//! [`ConnectionInfo`](crate::ConnectionInfo)) and decided by the current set
//! of a [`RuleSetHandle`], so a reload takes effect on the next request and
//! a request in flight keeps the set it started with. The [`Decision`] goes
//! in the request's extensions; a terminating action other than `allow` is
//! answered here; everything else goes on to the inner service.

use crate::context::HttpRequest;
use crate::rules::{Action, RuleSetHandle, Verdict};
use pin_project_lite::pin_project;
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;

/// What a rule set decided for one request: a [`Verdict`] that owns its
/// rule ids, for request extensions and logs. It serializes as the
/// verdict does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The terminating action that fired, if any.
    pub action: Option<Action>,
    /// The id of the rule that fired it.
    pub rule: Option<String>,
    /// Matching non-terminating rules (`log`, `skip`), in order.
    pub logged: Vec<String>,
    /// Rules that a `skip` rule skipped.
    pub skipped: Vec<String>,
}

impl From<&Verdict<'_>> for Decision {
    fn from(v: &Verdict<'_>) -> Self {
        Decision {
            action: v.action,
            rule: v.rule.map(str::to_string),
            logged: v.logged.iter().map(|s| s.to_string()).collect(),
            skipped: v.skipped.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// The response to a terminating action: a status, a content type and a
/// body. In the body, `{rule}` stands for the id of the rule that fired
/// and `{action}` for its action (JSON-escaped when the content type is
/// JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionResponse {
    /// The status code.
    pub status: http::StatusCode,
    /// The `content-type` header.
    pub content_type: String,
    /// The body, with `{rule}` and `{action}` filled in.
    pub body: String,
}

impl ActionResponse {
    /// `403`, `application/json`, `{"action":"…","rule":"…"}`.
    pub fn forbidden_json() -> Self {
        ActionResponse {
            status: http::StatusCode::FORBIDDEN,
            content_type: "application/json".into(),
            body: r#"{"action":"{action}","rule":"{rule}"}"#.into(),
        }
    }

    /// The response for `action` fired by rule `rule`.
    pub(crate) fn render<B: From<String>>(&self, action: Action, rule: &str) -> http::Response<B> {
        let json = self.content_type.starts_with("application/json");
        let fill = |s: &str| {
            if json {
                let quoted = serde_json::to_string(s).unwrap_or_default();
                let inner = quoted.strip_prefix('"').and_then(|q| q.strip_suffix('"'));
                inner.unwrap_or_default().to_string()
            } else {
                s.to_string()
            }
        };
        let body = self
            .body
            .replace("{rule}", &fill(rule))
            .replace("{action}", action.name());
        let mut response = http::Response::new(B::from(body));
        *response.status_mut() = self.status;
        if let Ok(v) = http::HeaderValue::from_str(&self.content_type) {
            response.headers_mut().insert(http::header::CONTENT_TYPE, v);
        }
        response
    }
}

#[derive(Debug)]
struct Shared {
    rules: RuleSetHandle,
    block: ActionResponse,
    challenge: ActionResponse,
}

/// The layer: wraps a service in a [`RulesService`] that decides each
/// request with the current rule set of a [`RuleSetHandle`].
#[derive(Debug, Clone)]
pub struct RulesLayer {
    shared: Arc<Shared>,
}

impl RulesLayer {
    /// Decides with `rules`; `block` and the challenge actions are answered
    /// with [`ActionResponse::forbidden_json`] until set otherwise.
    pub fn new(rules: RuleSetHandle) -> Self {
        RulesLayer {
            shared: Arc::new(Shared {
                rules,
                block: ActionResponse::forbidden_json(),
                challenge: ActionResponse::forbidden_json(),
            }),
        }
    }

    /// The response to `block`.
    pub fn block_response(self, response: ActionResponse) -> Self {
        self.with(|s| s.block = response)
    }

    /// The response to `challenge`, `js_challenge` and `managed_challenge`
    /// (this engine cannot challenge a client; say here what to send).
    pub fn challenge_response(self, response: ActionResponse) -> Self {
        self.with(|s| s.challenge = response)
    }

    fn with(self, f: impl FnOnce(&mut Shared)) -> Self {
        let mut shared = Arc::try_unwrap(self.shared).unwrap_or_else(|a| Shared {
            rules: a.rules.clone(),
            block: a.block.clone(),
            challenge: a.challenge.clone(),
        });
        f(&mut shared);
        RulesLayer {
            shared: Arc::new(shared),
        }
    }
}

impl<S> Layer<S> for RulesLayer {
    type Service = RulesService<S>;

    fn layer(&self, inner: S) -> RulesService<S> {
        RulesService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service [`RulesLayer`] makes.
#[derive(Debug, Clone)]
pub struct RulesService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S, B, R> Service<http::Request<B>> for RulesService<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Clone,
    R: From<String>,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = RulesFuture<S::Future, http::Response<R>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let answer = RulesFuture::answered;
        // The set is loaded once: the request is built for the fields it
        // reads, and decided by it.
        let set = self.shared.rules.load();
        let built = match HttpRequest::builder()
            .only(set.fields())
            .http(&request)
            .build()
        {
            Ok(built) => built,
            Err(e) => {
                let mut response = http::Response::new(R::from(
                    serde_json::json!({ "error": e.to_string() }).to_string(),
                ));
                *response.status_mut() = http::StatusCode::BAD_REQUEST;
                return answer(response);
            }
        };
        let verdict = set.evaluate(&built);
        let decision = Decision::from(&verdict);
        let reply = match (verdict.action, verdict.rule) {
            (Some(Action::Block), Some(rule)) => {
                Some(self.shared.block.render(Action::Block, rule))
            }
            (
                Some(a @ (Action::Challenge | Action::JsChallenge | Action::ManagedChallenge)),
                Some(rule),
            ) => Some(self.shared.challenge.render(a, rule)),
            _ => None,
        };
        if let Some(mut response) = reply {
            response.extensions_mut().insert(decision);
            return answer(response);
        }
        request.extensions_mut().insert(decision);
        // The clone is the ready service for the next call; the one that was
        // polled ready serves this one (tower's usual pattern).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        RulesFuture::inner(inner.call(request))
    }
}

pin_project! {
    /// The future of [`RulesService`]: the inner service's, or an answer
    /// the rules gave.
    pub struct RulesFuture<F, T> {
        #[pin]
        state: State<F, T>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, T> {
        Inner { #[pin] future: F },
        Answered { response: Option<T> },
    }
}

impl<F, T> RulesFuture<F, T> {
    fn inner(future: F) -> Self {
        RulesFuture {
            state: State::Inner { future },
        }
    }

    fn answered(response: T) -> Self {
        RulesFuture {
            state: State::Answered {
                response: Some(response),
            },
        }
    }
}

impl<F, T, E> Future for RulesFuture<F, T>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => future.poll(cx),
            StateProj::Answered { response } => match response.take() {
                Some(r) => Poll::Ready(Ok(r)),
                None => Poll::Pending,
            },
        }
    }
}
