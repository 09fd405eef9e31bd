//! Requests from the `http` crate: what hyper, axum and tower services hold.

use crate::catalogue::id;
use crate::context::{ConnectionInfo, HttpRequest, HttpRequestBuilder};
use crate::error::Error;
use crate::types::Value;
use std::time::{SystemTime, UNIX_EPOCH};

impl HttpRequest {
    /// The request an `http::Request` describes: its method, target (origin
    /// or absolute form, as HTTP/2 carries it), version and headers; the
    /// connection's facts when its extensions hold a [`ConnectionInfo`];
    /// and the time now (`http.request.timestamp.sec`, and `.msec`, the
    /// millisecond within that second, 0–999, as at the public edge). The body is not read:
    /// add it with [`HttpRequestBuilder::body`] through
    /// [`HttpRequestBuilder::from_http`].
    pub fn from_http<B>(request: &http::Request<B>) -> Result<HttpRequest, Error> {
        HttpRequestBuilder::from_http(request).build()
    }

    /// [`from_http`](Self::from_http) from a request's head.
    pub fn from_parts(parts: &http::request::Parts) -> Result<HttpRequest, Error> {
        HttpRequestBuilder::from_parts(parts).build()
    }
}

impl HttpRequestBuilder {
    /// A builder holding what [`HttpRequest::from_http`] reads, to add
    /// more (the body, geolocation, scores) before [`build`](Self::build).
    pub fn from_http<B>(request: &http::Request<B>) -> HttpRequestBuilder {
        HttpRequest::builder().http(request)
    }

    /// [`from_http`](Self::from_http) from a request's head.
    pub fn from_parts(parts: &http::request::Parts) -> HttpRequestBuilder {
        HttpRequest::builder().http_parts(parts)
    }

    /// What [`HttpRequest::from_http`] reads of `request`, added to this
    /// builder (after [`only`](Self::only), say).
    pub fn http<B>(self, request: &http::Request<B>) -> HttpRequestBuilder {
        head(
            self,
            request.method(),
            request.uri(),
            request.version(),
            request.headers(),
            request.extensions(),
        )
    }

    /// [`http`](Self::http) from a request's head.
    pub fn http_parts(self, parts: &http::request::Parts) -> HttpRequestBuilder {
        head(
            self,
            &parts.method,
            &parts.uri,
            parts.version,
            &parts.headers,
            &parts.extensions,
        )
    }
}

fn head(
    mut b: HttpRequestBuilder,
    method: &http::Method,
    uri: &http::Uri,
    version: http::Version,
    headers: &http::HeaderMap,
    extensions: &http::Extensions,
) -> HttpRequestBuilder {
    if let Some(connection) = extensions.get::<ConnectionInfo>() {
        b = b.connection(connection);
    }
    // An origin-form target is its path and query as received; any other
    // (absolute, authority, `*`) is printed whole.
    b = b.method(method.as_str());
    b = match (uri.scheme(), uri.path_and_query()) {
        (None, Some(pq)) if uri.authority().is_none() => b.uri(pq.as_str()),
        _ => b.uri(uri.to_string()),
    };
    let version = match version {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_11 => "HTTP/1.1",
        http::Version::HTTP_2 => "HTTP/2",
        http::Version::HTTP_3 => "HTTP/3",
        _ => "",
    };
    if !version.is_empty() {
        b.set_field(const { id("http.request.version") }, Value::from(version));
    }
    let bytes = headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len())
        .sum();
    b.reserve_headers(headers.len(), bytes);
    for (name, value) in headers {
        b.add_header(name.as_str().as_bytes(), value.as_bytes());
    }
    if let Ok(now) = SystemTime::now().duration_since(UNIX_EPOCH) {
        let sec = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        b.set_field(const { id("http.request.timestamp.sec") }, Value::Int(sec));
        b.set_field(
            const { id("http.request.timestamp.msec") },
            Value::Int(i64::from(now.subsec_millis())),
        );
    }
    b
}
