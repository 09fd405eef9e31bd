//! The wirefilter 0.6.1 side of the benches that compare with it: the
//! standard request's fields as its scheme, and the request as its context.

use crate::workload::Req;
use std::net::IpAddr;

/// The scalar fields of the standard bench request (wirefilter 0.6.1 has
/// Bytes, Int, Bool and Ip).
pub const WF_FIELDS: &[(&str, wirefilter::Type)] = &[
    ("http.host", wirefilter::Type::Bytes),
    ("http.request.uri.path", wirefilter::Type::Bytes),
    ("http.request.method", wirefilter::Type::Bytes),
    ("http.user_agent", wirefilter::Type::Bytes),
    ("http.referer", wirefilter::Type::Bytes),
    ("http.cookie", wirefilter::Type::Bytes),
    ("ip.src", wirefilter::Type::Ip),
    ("ip.src.country", wirefilter::Type::Bytes),
    ("tcp.dstport", wirefilter::Type::Int),
    ("cf.tls_client_auth.cert_verified", wirefilter::Type::Bool),
    ("cf.bot_management.score", wirefilter::Type::Int),
    ("cf.bot_management.verified_bot", wirefilter::Type::Bool),
];

/// A scheme of [`WF_FIELDS`].
pub fn wf_scheme() -> wirefilter::Scheme {
    let mut s = wirefilter::Scheme::new();
    for (name, ty) in WF_FIELDS {
        s.add_field(name.to_string(), *ty).expect("field");
    }
    s
}

/// The standard request as wirefilter's execution context (borrowing it).
pub fn wf_context<'s>(
    req: &'s Req,
    scheme: &'s wirefilter::Scheme,
) -> wirefilter::ExecutionContext<'s> {
    let mut cx = wirefilter::ExecutionContext::new(scheme);
    cx.set_field_value("http.host", req.host.as_str()).unwrap();
    cx.set_field_value("http.request.uri.path", req.path.as_str())
        .unwrap();
    cx.set_field_value("http.request.method", req.method.as_str())
        .unwrap();
    cx.set_field_value("http.user_agent", req.ua.as_str())
        .unwrap();
    cx.set_field_value("http.referer", req.referer.as_str())
        .unwrap();
    cx.set_field_value("http.cookie", req.cookie.as_str())
        .unwrap();
    cx.set_field_value("ip.src", IpAddr::V4(req.ip)).unwrap();
    cx.set_field_value("ip.src.country", req.country.as_str())
        .unwrap();
    cx.set_field_value("tcp.dstport", req.port as i32).unwrap();
    cx.set_field_value("cf.tls_client_auth.cert_verified", req.verified)
        .unwrap();
    cx.set_field_value("cf.bot_management.score", req.bot_score as i32)
        .unwrap();
    cx.set_field_value("cf.bot_management.verified_bot", req.verified_bot)
        .unwrap();
    cx
}
