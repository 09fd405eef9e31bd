//! Requests from the `http` crate: what hyper, axum and tower services hold.

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
        head(
            request.method(),
            request.uri(),
            request.version(),
            request.headers(),
            request.extensions(),
        )
    }

    /// [`from_http`](Self::from_http) from a request's head.
    pub fn from_parts(parts: &http::request::Parts) -> HttpRequestBuilder {
        head(
            &parts.method,
            &parts.uri,
            parts.version,
            &parts.headers,
            &parts.extensions,
        )
    }
}

fn head(
    method: &http::Method,
    uri: &http::Uri,
    version: http::Version,
    headers: &http::HeaderMap,
    extensions: &http::Extensions,
) -> HttpRequestBuilder {
    let mut b = HttpRequest::builder();
    if let Some(connection) = extensions.get::<ConnectionInfo>() {
        b = b.connection(connection);
    }
    b = b.method(method.as_str()).uri(uri.to_string());
    let version = match version {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_11 => "HTTP/1.1",
        http::Version::HTTP_2 => "HTTP/2",
        http::Version::HTTP_3 => "HTTP/3",
        _ => "",
    };
    if !version.is_empty() {
        b = b.field("http.request.version", Value::from(version));
    }
    for (name, value) in headers {
        b = b.header(name.as_str(), value.as_bytes());
    }
    if let Ok(now) = SystemTime::now().duration_since(UNIX_EPOCH) {
        let sec = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        b = b
            .field("http.request.timestamp.sec", Value::Int(sec))
            .field(
                "http.request.timestamp.msec",
                Value::Int(i64::from(now.subsec_millis())),
            );
    }
    b
}
