// Generated from the default catalogue (src/catalogue.rs); the test
// `every_default_field_round_trips` keeps the two in step.

use super::*;

/// Every field of the default HTTP catalogue, typed, one member per field
/// (named after the field with `.` as `_`). Unset members are missing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HttpFields {
    /// `http.host` (Bytes).
    pub http_host: Option<Vec<u8>>,
    /// `http.cookie` (Bytes).
    pub http_cookie: Option<Vec<u8>>,
    /// `http.referer` (Bytes).
    pub http_referer: Option<Vec<u8>>,
    /// `http.user_agent` (Bytes).
    pub http_user_agent: Option<Vec<u8>>,
    /// `http.x_forwarded_for` (Bytes).
    pub http_x_forwarded_for: Option<Vec<u8>>,
    /// `http.request.method` (Bytes).
    pub http_request_method: Option<Vec<u8>>,
    /// `http.request.version` (Bytes).
    pub http_request_version: Option<Vec<u8>>,
    /// `http.request.full_uri` (Bytes).
    pub http_request_full_uri: Option<Vec<u8>>,
    /// `http.request.uri` (Bytes).
    pub http_request_uri: Option<Vec<u8>>,
    /// `http.request.uri.path` (Bytes).
    pub http_request_uri_path: Option<Vec<u8>>,
    /// `http.request.uri.path.extension` (Bytes).
    pub http_request_uri_path_extension: Option<Vec<u8>>,
    /// `http.request.uri.query` (Bytes).
    pub http_request_uri_query: Option<Vec<u8>>,
    /// `http.request.uri.args` (`Map<Array<Bytes>>`).
    pub http_request_uri_args: Option<BTreeMap<Vec<u8>, Value>>,
    /// `http.request.uri.args.names` (`Array<Bytes>`).
    pub http_request_uri_args_names: Option<Vec<Value>>,
    /// `http.request.uri.args.values` (`Array<Bytes>`).
    pub http_request_uri_args_values: Option<Vec<Value>>,
    /// `http.request.cookies` (`Map<Array<Bytes>>`).
    pub http_request_cookies: Option<BTreeMap<Vec<u8>, Value>>,
    /// `http.request.headers` (`Map<Array<Bytes>>`).
    pub http_request_headers: Option<BTreeMap<Vec<u8>, Value>>,
    /// `http.request.headers.names` (`Array<Bytes>`).
    pub http_request_headers_names: Option<Vec<Value>>,
    /// `http.request.headers.values` (`Array<Bytes>`).
    pub http_request_headers_values: Option<Vec<Value>>,
    /// `http.request.headers.truncated` (Bool).
    pub http_request_headers_truncated: Option<bool>,
    /// `http.request.accepted_languages` (`Array<Bytes>`).
    pub http_request_accepted_languages: Option<Vec<Value>>,
    /// `http.request.timestamp.sec` (Int).
    pub http_request_timestamp_sec: Option<i64>,
    /// `http.request.timestamp.msec` (Int).
    pub http_request_timestamp_msec: Option<i64>,
    /// `http.request.body.raw` (Bytes).
    pub http_request_body_raw: Option<Vec<u8>>,
    /// `http.request.body.size` (Int).
    pub http_request_body_size: Option<i64>,
    /// `http.request.body.truncated` (Bool).
    pub http_request_body_truncated: Option<bool>,
    /// `http.request.body.mime` (Bytes).
    pub http_request_body_mime: Option<Vec<u8>>,
    /// `http.request.body.form` (`Map<Array<Bytes>>`).
    pub http_request_body_form: Option<BTreeMap<Vec<u8>, Value>>,
    /// `http.request.body.form.names` (`Array<Bytes>`).
    pub http_request_body_form_names: Option<Vec<Value>>,
    /// `http.request.body.form.values` (`Array<Bytes>`).
    pub http_request_body_form_values: Option<Vec<Value>>,
    /// `http.request.jwt.claims` (`Map<Array<Bytes>>`).
    pub http_request_jwt_claims: Option<BTreeMap<Vec<u8>, Value>>,
    /// `raw.http.request.full_uri` (Bytes).
    pub raw_http_request_full_uri: Option<Vec<u8>>,
    /// `raw.http.request.uri` (Bytes).
    pub raw_http_request_uri: Option<Vec<u8>>,
    /// `raw.http.request.uri.path` (Bytes).
    pub raw_http_request_uri_path: Option<Vec<u8>>,
    /// `raw.http.request.uri.query` (Bytes).
    pub raw_http_request_uri_query: Option<Vec<u8>>,
    /// `raw.http.request.uri.args` (`Map<Array<Bytes>>`).
    pub raw_http_request_uri_args: Option<BTreeMap<Vec<u8>, Value>>,
    /// `raw.http.request.uri.args.names` (`Array<Bytes>`).
    pub raw_http_request_uri_args_names: Option<Vec<Value>>,
    /// `raw.http.request.uri.args.values` (`Array<Bytes>`).
    pub raw_http_request_uri_args_values: Option<Vec<Value>>,
    /// `http.response.code` (Int).
    pub http_response_code: Option<i64>,
    /// `http.response.headers` (`Map<Array<Bytes>>`).
    pub http_response_headers: Option<BTreeMap<Vec<u8>, Value>>,
    /// `http.response.headers.names` (`Array<Bytes>`).
    pub http_response_headers_names: Option<Vec<Value>>,
    /// `http.response.headers.values` (`Array<Bytes>`).
    pub http_response_headers_values: Option<Vec<Value>>,
    /// `ssl` (Bool).
    pub ssl: Option<bool>,
    /// `ip.src` (Ip).
    pub ip_src: Option<IpAddr>,
    /// `ip.src.asnum` (Int).
    pub ip_src_asnum: Option<i64>,
    /// `ip.src.country` (Bytes).
    pub ip_src_country: Option<Vec<u8>>,
    /// `ip.src.continent` (Bytes).
    pub ip_src_continent: Option<Vec<u8>>,
    /// `ip.src.city` (Bytes).
    pub ip_src_city: Option<Vec<u8>>,
    /// `ip.src.region` (Bytes).
    pub ip_src_region: Option<Vec<u8>>,
    /// `ip.src.region_code` (Bytes).
    pub ip_src_region_code: Option<Vec<u8>>,
    /// `ip.src.postal_code` (Bytes).
    pub ip_src_postal_code: Option<Vec<u8>>,
    /// `ip.src.timezone.name` (Bytes).
    pub ip_src_timezone_name: Option<Vec<u8>>,
    /// `ip.src.is_in_european_union` (Bool).
    pub ip_src_is_in_european_union: Option<bool>,
    /// `cf.edge.server_ip` (Ip).
    pub cf_edge_server_ip: Option<IpAddr>,
    /// `cf.edge.server_port` (Int).
    pub cf_edge_server_port: Option<i64>,
    /// `cf.ray_id` (Bytes).
    pub cf_ray_id: Option<Vec<u8>>,
    /// `cf.random_seed` (Bytes).
    pub cf_random_seed: Option<Vec<u8>>,
    /// `cf.threat_score` (Int).
    pub cf_threat_score: Option<i64>,
    /// `cf.client.bot` (Bool).
    pub cf_client_bot: Option<bool>,
    /// `cf.bot_management.score` (Int).
    pub cf_bot_management_score: Option<i64>,
    /// `cf.bot_management.verified_bot` (Bool).
    pub cf_bot_management_verified_bot: Option<bool>,
    /// `cf.bot_management.static_resource` (Bool).
    pub cf_bot_management_static_resource: Option<bool>,
    /// `cf.bot_management.ja3_hash` (Bytes).
    pub cf_bot_management_ja3_hash: Option<Vec<u8>>,
    /// `cf.bot_management.ja4` (Bytes).
    pub cf_bot_management_ja4: Option<Vec<u8>>,
    /// `cf.bot_management.detection_ids` (`Array<Int>`).
    pub cf_bot_management_detection_ids: Option<Vec<Value>>,
    /// `cf.verified_bot_category` (Bytes).
    pub cf_verified_bot_category: Option<Vec<u8>>,
    /// `cf.waf.score` (Int).
    pub cf_waf_score: Option<i64>,
    /// `cf.waf.score.sqli` (Int).
    pub cf_waf_score_sqli: Option<i64>,
    /// `cf.waf.score.xss` (Int).
    pub cf_waf_score_xss: Option<i64>,
    /// `cf.waf.score.rce` (Int).
    pub cf_waf_score_rce: Option<i64>,
    /// `cf.waf.score.class` (Bytes).
    pub cf_waf_score_class: Option<Vec<u8>>,
    /// `cf.tls_version` (Bytes).
    pub cf_tls_version: Option<Vec<u8>>,
    /// `cf.tls_cipher` (Bytes).
    pub cf_tls_cipher: Option<Vec<u8>>,
    /// `cf.tls_client_auth.cert_presented` (Bool).
    pub cf_tls_client_auth_cert_presented: Option<bool>,
    /// `cf.tls_client_auth.cert_verified` (Bool).
    pub cf_tls_client_auth_cert_verified: Option<bool>,
    /// `cf.tls_client_auth.cert_revoked` (Bool).
    pub cf_tls_client_auth_cert_revoked: Option<bool>,
    /// `cf.tls_client_auth.cert_issuer_dn` (Bytes).
    pub cf_tls_client_auth_cert_issuer_dn: Option<Vec<u8>>,
    /// `cf.tls_client_auth.cert_subject_dn` (Bytes).
    pub cf_tls_client_auth_cert_subject_dn: Option<Vec<u8>>,
    /// `cf.tls_client_auth.cert_issuer_dn_rfc2253` (Bytes).
    pub cf_tls_client_auth_cert_issuer_dn_rfc2253: Option<Vec<u8>>,
    /// `cf.tls_client_auth.cert_subject_dn_rfc2253` (Bytes).
    pub cf_tls_client_auth_cert_subject_dn_rfc2253: Option<Vec<u8>>,
    /// `cf.tls_client_auth.cert_serial` (Bytes).
    pub cf_tls_client_auth_cert_serial: Option<Vec<u8>>,
    /// `cf.tls_client_auth.cert_issuer_serial` (Bytes).
    pub cf_tls_client_auth_cert_issuer_serial: Option<Vec<u8>>,
    /// `cf.tls_client_auth.cert_fingerprint_sha256` (Bytes).
    pub cf_tls_client_auth_cert_fingerprint_sha256: Option<Vec<u8>>,
    /// `cf.tls_client_auth.cert_fingerprint_sha1` (Bytes).
    pub cf_tls_client_auth_cert_fingerprint_sha1: Option<Vec<u8>>,
    /// `cf.tls_client_auth.cert_not_before` (Bytes).
    pub cf_tls_client_auth_cert_not_before: Option<Vec<u8>>,
    /// `cf.tls_client_auth.cert_not_after` (Bytes).
    pub cf_tls_client_auth_cert_not_after: Option<Vec<u8>>,
    /// `cf.tls_client_auth.cert_ski` (Bytes).
    pub cf_tls_client_auth_cert_ski: Option<Vec<u8>>,
    /// `cf.tls_client_auth.cert_issuer_ski` (Bytes).
    pub cf_tls_client_auth_cert_issuer_ski: Option<Vec<u8>>,
    /// `ip.dst` (Ip).
    pub ip_dst: Option<IpAddr>,
    /// `ip.proto` (Bytes).
    pub ip_proto: Option<Vec<u8>>,
    /// `ip.len` (Int).
    pub ip_len: Option<i64>,
    /// `ip.ttl` (Int).
    pub ip_ttl: Option<i64>,
    /// `tcp.srcport` (Int).
    pub tcp_srcport: Option<i64>,
    /// `tcp.dstport` (Int).
    pub tcp_dstport: Option<i64>,
    /// `tcp.flags` (Int).
    pub tcp_flags: Option<i64>,
    /// `tcp.flags.syn` (Bool).
    pub tcp_flags_syn: Option<bool>,
    /// `tcp.flags.ack` (Bool).
    pub tcp_flags_ack: Option<bool>,
    /// `tcp.flags.fin` (Bool).
    pub tcp_flags_fin: Option<bool>,
    /// `tcp.flags.reset` (Bool).
    pub tcp_flags_reset: Option<bool>,
    /// `udp.srcport` (Int).
    pub udp_srcport: Option<i64>,
    /// `udp.dstport` (Int).
    pub udp_dstport: Option<i64>,
    /// `icmp.type` (Int).
    pub icmp_type: Option<i64>,
    /// `icmp.code` (Int).
    pub icmp_code: Option<i64>,
}

impl HttpFields {
    /// The value of default-schema field `id`.
    #[inline]
    pub fn get(&self, id: FieldId) -> Val<'_> {
        match id.0 {
            0 => self
                .http_host
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            1 => self
                .http_cookie
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            2 => self
                .http_referer
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            3 => self
                .http_user_agent
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            4 => self
                .http_x_forwarded_for
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            5 => self
                .http_request_method
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            6 => self
                .http_request_version
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            7 => self
                .http_request_full_uri
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            8 => self
                .http_request_uri
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            9 => self
                .http_request_uri_path
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            10 => self
                .http_request_uri_path_extension
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            11 => self
                .http_request_uri_query
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            12 => self
                .http_request_uri_args
                .as_ref()
                .map_or(Val::Missing, Val::Map),
            13 => self
                .http_request_uri_args_names
                .as_deref()
                .map_or(Val::Missing, |a| Val::Array(Seq::Values(a))),
            14 => self
                .http_request_uri_args_values
                .as_deref()
                .map_or(Val::Missing, |a| Val::Array(Seq::Values(a))),
            15 => self
                .http_request_cookies
                .as_ref()
                .map_or(Val::Missing, Val::Map),
            16 => self
                .http_request_headers
                .as_ref()
                .map_or(Val::Missing, Val::Map),
            17 => self
                .http_request_headers_names
                .as_deref()
                .map_or(Val::Missing, |a| Val::Array(Seq::Values(a))),
            18 => self
                .http_request_headers_values
                .as_deref()
                .map_or(Val::Missing, |a| Val::Array(Seq::Values(a))),
            19 => self
                .http_request_headers_truncated
                .map_or(Val::Missing, Val::Bool),
            20 => self
                .http_request_accepted_languages
                .as_deref()
                .map_or(Val::Missing, |a| Val::Array(Seq::Values(a))),
            21 => self
                .http_request_timestamp_sec
                .map_or(Val::Missing, Val::Int),
            22 => self
                .http_request_timestamp_msec
                .map_or(Val::Missing, Val::Int),
            23 => self
                .http_request_body_raw
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            24 => self.http_request_body_size.map_or(Val::Missing, Val::Int),
            25 => self
                .http_request_body_truncated
                .map_or(Val::Missing, Val::Bool),
            26 => self
                .http_request_body_mime
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            27 => self
                .http_request_body_form
                .as_ref()
                .map_or(Val::Missing, Val::Map),
            28 => self
                .http_request_body_form_names
                .as_deref()
                .map_or(Val::Missing, |a| Val::Array(Seq::Values(a))),
            29 => self
                .http_request_body_form_values
                .as_deref()
                .map_or(Val::Missing, |a| Val::Array(Seq::Values(a))),
            30 => self
                .http_request_jwt_claims
                .as_ref()
                .map_or(Val::Missing, Val::Map),
            31 => self
                .raw_http_request_full_uri
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            32 => self
                .raw_http_request_uri
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            33 => self
                .raw_http_request_uri_path
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            34 => self
                .raw_http_request_uri_query
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            35 => self
                .raw_http_request_uri_args
                .as_ref()
                .map_or(Val::Missing, Val::Map),
            36 => self
                .raw_http_request_uri_args_names
                .as_deref()
                .map_or(Val::Missing, |a| Val::Array(Seq::Values(a))),
            37 => self
                .raw_http_request_uri_args_values
                .as_deref()
                .map_or(Val::Missing, |a| Val::Array(Seq::Values(a))),
            38 => self.http_response_code.map_or(Val::Missing, Val::Int),
            39 => self
                .http_response_headers
                .as_ref()
                .map_or(Val::Missing, Val::Map),
            40 => self
                .http_response_headers_names
                .as_deref()
                .map_or(Val::Missing, |a| Val::Array(Seq::Values(a))),
            41 => self
                .http_response_headers_values
                .as_deref()
                .map_or(Val::Missing, |a| Val::Array(Seq::Values(a))),
            42 => self.ssl.map_or(Val::Missing, Val::Bool),
            43 => self.ip_src.map_or(Val::Missing, Val::Ip),
            44 => self.ip_src_asnum.map_or(Val::Missing, Val::Int),
            45 => self
                .ip_src_country
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            46 => self
                .ip_src_continent
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            47 => self
                .ip_src_city
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            48 => self
                .ip_src_region
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            49 => self
                .ip_src_region_code
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            50 => self
                .ip_src_postal_code
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            51 => self
                .ip_src_timezone_name
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            52 => self
                .ip_src_is_in_european_union
                .map_or(Val::Missing, Val::Bool),
            53 => self.cf_edge_server_ip.map_or(Val::Missing, Val::Ip),
            54 => self.cf_edge_server_port.map_or(Val::Missing, Val::Int),
            55 => self
                .cf_ray_id
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            56 => self
                .cf_random_seed
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            57 => self.cf_threat_score.map_or(Val::Missing, Val::Int),
            58 => self.cf_client_bot.map_or(Val::Missing, Val::Bool),
            59 => self.cf_bot_management_score.map_or(Val::Missing, Val::Int),
            60 => self
                .cf_bot_management_verified_bot
                .map_or(Val::Missing, Val::Bool),
            61 => self
                .cf_bot_management_static_resource
                .map_or(Val::Missing, Val::Bool),
            62 => self
                .cf_bot_management_ja3_hash
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            63 => self
                .cf_bot_management_ja4
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            64 => self
                .cf_bot_management_detection_ids
                .as_deref()
                .map_or(Val::Missing, |a| Val::Array(Seq::Values(a))),
            65 => self
                .cf_verified_bot_category
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            66 => self.cf_waf_score.map_or(Val::Missing, Val::Int),
            67 => self.cf_waf_score_sqli.map_or(Val::Missing, Val::Int),
            68 => self.cf_waf_score_xss.map_or(Val::Missing, Val::Int),
            69 => self.cf_waf_score_rce.map_or(Val::Missing, Val::Int),
            70 => self
                .cf_waf_score_class
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            71 => self
                .cf_tls_version
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            72 => self
                .cf_tls_cipher
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            73 => self
                .cf_tls_client_auth_cert_presented
                .map_or(Val::Missing, Val::Bool),
            74 => self
                .cf_tls_client_auth_cert_verified
                .map_or(Val::Missing, Val::Bool),
            75 => self
                .cf_tls_client_auth_cert_revoked
                .map_or(Val::Missing, Val::Bool),
            76 => self
                .cf_tls_client_auth_cert_issuer_dn
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            77 => self
                .cf_tls_client_auth_cert_subject_dn
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            78 => self
                .cf_tls_client_auth_cert_issuer_dn_rfc2253
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            79 => self
                .cf_tls_client_auth_cert_subject_dn_rfc2253
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            80 => self
                .cf_tls_client_auth_cert_serial
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            81 => self
                .cf_tls_client_auth_cert_issuer_serial
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            82 => self
                .cf_tls_client_auth_cert_fingerprint_sha256
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            83 => self
                .cf_tls_client_auth_cert_fingerprint_sha1
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            84 => self
                .cf_tls_client_auth_cert_not_before
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            85 => self
                .cf_tls_client_auth_cert_not_after
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            86 => self
                .cf_tls_client_auth_cert_ski
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            87 => self
                .cf_tls_client_auth_cert_issuer_ski
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            88 => self.ip_dst.map_or(Val::Missing, Val::Ip),
            89 => self
                .ip_proto
                .as_deref()
                .map_or(Val::Missing, |b| Val::Bytes(Cow::Borrowed(b))),
            90 => self.ip_len.map_or(Val::Missing, Val::Int),
            91 => self.ip_ttl.map_or(Val::Missing, Val::Int),
            92 => self.tcp_srcport.map_or(Val::Missing, Val::Int),
            93 => self.tcp_dstport.map_or(Val::Missing, Val::Int),
            94 => self.tcp_flags.map_or(Val::Missing, Val::Int),
            95 => self.tcp_flags_syn.map_or(Val::Missing, Val::Bool),
            96 => self.tcp_flags_ack.map_or(Val::Missing, Val::Bool),
            97 => self.tcp_flags_fin.map_or(Val::Missing, Val::Bool),
            98 => self.tcp_flags_reset.map_or(Val::Missing, Val::Bool),
            99 => self.udp_srcport.map_or(Val::Missing, Val::Int),
            100 => self.udp_dstport.map_or(Val::Missing, Val::Int),
            101 => self.icmp_type.map_or(Val::Missing, Val::Int),
            102 => self.icmp_code.map_or(Val::Missing, Val::Int),
            _ => Val::Missing,
        }
    }

    /// Every member as a value, in field-id order (the catalogue's order):
    /// moves the data, copies nothing.
    pub fn into_values(self) -> Vec<Option<Value>> {
        vec![
            self.http_host.map(Value::Bytes),
            self.http_cookie.map(Value::Bytes),
            self.http_referer.map(Value::Bytes),
            self.http_user_agent.map(Value::Bytes),
            self.http_x_forwarded_for.map(Value::Bytes),
            self.http_request_method.map(Value::Bytes),
            self.http_request_version.map(Value::Bytes),
            self.http_request_full_uri.map(Value::Bytes),
            self.http_request_uri.map(Value::Bytes),
            self.http_request_uri_path.map(Value::Bytes),
            self.http_request_uri_path_extension.map(Value::Bytes),
            self.http_request_uri_query.map(Value::Bytes),
            self.http_request_uri_args.map(Value::Map),
            self.http_request_uri_args_names.map(Value::Array),
            self.http_request_uri_args_values.map(Value::Array),
            self.http_request_cookies.map(Value::Map),
            self.http_request_headers.map(Value::Map),
            self.http_request_headers_names.map(Value::Array),
            self.http_request_headers_values.map(Value::Array),
            self.http_request_headers_truncated.map(Value::Bool),
            self.http_request_accepted_languages.map(Value::Array),
            self.http_request_timestamp_sec.map(Value::Int),
            self.http_request_timestamp_msec.map(Value::Int),
            self.http_request_body_raw.map(Value::Bytes),
            self.http_request_body_size.map(Value::Int),
            self.http_request_body_truncated.map(Value::Bool),
            self.http_request_body_mime.map(Value::Bytes),
            self.http_request_body_form.map(Value::Map),
            self.http_request_body_form_names.map(Value::Array),
            self.http_request_body_form_values.map(Value::Array),
            self.http_request_jwt_claims.map(Value::Map),
            self.raw_http_request_full_uri.map(Value::Bytes),
            self.raw_http_request_uri.map(Value::Bytes),
            self.raw_http_request_uri_path.map(Value::Bytes),
            self.raw_http_request_uri_query.map(Value::Bytes),
            self.raw_http_request_uri_args.map(Value::Map),
            self.raw_http_request_uri_args_names.map(Value::Array),
            self.raw_http_request_uri_args_values.map(Value::Array),
            self.http_response_code.map(Value::Int),
            self.http_response_headers.map(Value::Map),
            self.http_response_headers_names.map(Value::Array),
            self.http_response_headers_values.map(Value::Array),
            self.ssl.map(Value::Bool),
            self.ip_src.map(Value::Ip),
            self.ip_src_asnum.map(Value::Int),
            self.ip_src_country.map(Value::Bytes),
            self.ip_src_continent.map(Value::Bytes),
            self.ip_src_city.map(Value::Bytes),
            self.ip_src_region.map(Value::Bytes),
            self.ip_src_region_code.map(Value::Bytes),
            self.ip_src_postal_code.map(Value::Bytes),
            self.ip_src_timezone_name.map(Value::Bytes),
            self.ip_src_is_in_european_union.map(Value::Bool),
            self.cf_edge_server_ip.map(Value::Ip),
            self.cf_edge_server_port.map(Value::Int),
            self.cf_ray_id.map(Value::Bytes),
            self.cf_random_seed.map(Value::Bytes),
            self.cf_threat_score.map(Value::Int),
            self.cf_client_bot.map(Value::Bool),
            self.cf_bot_management_score.map(Value::Int),
            self.cf_bot_management_verified_bot.map(Value::Bool),
            self.cf_bot_management_static_resource.map(Value::Bool),
            self.cf_bot_management_ja3_hash.map(Value::Bytes),
            self.cf_bot_management_ja4.map(Value::Bytes),
            self.cf_bot_management_detection_ids.map(Value::Array),
            self.cf_verified_bot_category.map(Value::Bytes),
            self.cf_waf_score.map(Value::Int),
            self.cf_waf_score_sqli.map(Value::Int),
            self.cf_waf_score_xss.map(Value::Int),
            self.cf_waf_score_rce.map(Value::Int),
            self.cf_waf_score_class.map(Value::Bytes),
            self.cf_tls_version.map(Value::Bytes),
            self.cf_tls_cipher.map(Value::Bytes),
            self.cf_tls_client_auth_cert_presented.map(Value::Bool),
            self.cf_tls_client_auth_cert_verified.map(Value::Bool),
            self.cf_tls_client_auth_cert_revoked.map(Value::Bool),
            self.cf_tls_client_auth_cert_issuer_dn.map(Value::Bytes),
            self.cf_tls_client_auth_cert_subject_dn.map(Value::Bytes),
            self.cf_tls_client_auth_cert_issuer_dn_rfc2253
                .map(Value::Bytes),
            self.cf_tls_client_auth_cert_subject_dn_rfc2253
                .map(Value::Bytes),
            self.cf_tls_client_auth_cert_serial.map(Value::Bytes),
            self.cf_tls_client_auth_cert_issuer_serial.map(Value::Bytes),
            self.cf_tls_client_auth_cert_fingerprint_sha256
                .map(Value::Bytes),
            self.cf_tls_client_auth_cert_fingerprint_sha1
                .map(Value::Bytes),
            self.cf_tls_client_auth_cert_not_before.map(Value::Bytes),
            self.cf_tls_client_auth_cert_not_after.map(Value::Bytes),
            self.cf_tls_client_auth_cert_ski.map(Value::Bytes),
            self.cf_tls_client_auth_cert_issuer_ski.map(Value::Bytes),
            self.ip_dst.map(Value::Ip),
            self.ip_proto.map(Value::Bytes),
            self.ip_len.map(Value::Int),
            self.ip_ttl.map(Value::Int),
            self.tcp_srcport.map(Value::Int),
            self.tcp_dstport.map(Value::Int),
            self.tcp_flags.map(Value::Int),
            self.tcp_flags_syn.map(Value::Bool),
            self.tcp_flags_ack.map(Value::Bool),
            self.tcp_flags_fin.map(Value::Bool),
            self.tcp_flags_reset.map(Value::Bool),
            self.udp_srcport.map(Value::Int),
            self.udp_dstport.map(Value::Int),
            self.icmp_type.map(Value::Int),
            self.icmp_code.map(Value::Int),
        ]
    }

    /// Sets default-schema field `id` (the caller has checked the type).
    pub(super) fn set(&mut self, id: FieldId, value: Value) {
        match (id.0, value) {
            (0, Value::Bytes(b)) => self.http_host = Some(b),
            (1, Value::Bytes(b)) => self.http_cookie = Some(b),
            (2, Value::Bytes(b)) => self.http_referer = Some(b),
            (3, Value::Bytes(b)) => self.http_user_agent = Some(b),
            (4, Value::Bytes(b)) => self.http_x_forwarded_for = Some(b),
            (5, Value::Bytes(b)) => self.http_request_method = Some(b),
            (6, Value::Bytes(b)) => self.http_request_version = Some(b),
            (7, Value::Bytes(b)) => self.http_request_full_uri = Some(b),
            (8, Value::Bytes(b)) => self.http_request_uri = Some(b),
            (9, Value::Bytes(b)) => self.http_request_uri_path = Some(b),
            (10, Value::Bytes(b)) => self.http_request_uri_path_extension = Some(b),
            (11, Value::Bytes(b)) => self.http_request_uri_query = Some(b),
            (12, Value::Map(m)) => self.http_request_uri_args = Some(m),
            (13, Value::Array(a)) => self.http_request_uri_args_names = Some(a),
            (14, Value::Array(a)) => self.http_request_uri_args_values = Some(a),
            (15, Value::Map(m)) => self.http_request_cookies = Some(m),
            (16, Value::Map(m)) => self.http_request_headers = Some(m),
            (17, Value::Array(a)) => self.http_request_headers_names = Some(a),
            (18, Value::Array(a)) => self.http_request_headers_values = Some(a),
            (19, Value::Bool(b)) => self.http_request_headers_truncated = Some(b),
            (20, Value::Array(a)) => self.http_request_accepted_languages = Some(a),
            (21, Value::Int(n)) => self.http_request_timestamp_sec = Some(n),
            (22, Value::Int(n)) => self.http_request_timestamp_msec = Some(n),
            (23, Value::Bytes(b)) => self.http_request_body_raw = Some(b),
            (24, Value::Int(n)) => self.http_request_body_size = Some(n),
            (25, Value::Bool(b)) => self.http_request_body_truncated = Some(b),
            (26, Value::Bytes(b)) => self.http_request_body_mime = Some(b),
            (27, Value::Map(m)) => self.http_request_body_form = Some(m),
            (28, Value::Array(a)) => self.http_request_body_form_names = Some(a),
            (29, Value::Array(a)) => self.http_request_body_form_values = Some(a),
            (30, Value::Map(m)) => self.http_request_jwt_claims = Some(m),
            (31, Value::Bytes(b)) => self.raw_http_request_full_uri = Some(b),
            (32, Value::Bytes(b)) => self.raw_http_request_uri = Some(b),
            (33, Value::Bytes(b)) => self.raw_http_request_uri_path = Some(b),
            (34, Value::Bytes(b)) => self.raw_http_request_uri_query = Some(b),
            (35, Value::Map(m)) => self.raw_http_request_uri_args = Some(m),
            (36, Value::Array(a)) => self.raw_http_request_uri_args_names = Some(a),
            (37, Value::Array(a)) => self.raw_http_request_uri_args_values = Some(a),
            (38, Value::Int(n)) => self.http_response_code = Some(n),
            (39, Value::Map(m)) => self.http_response_headers = Some(m),
            (40, Value::Array(a)) => self.http_response_headers_names = Some(a),
            (41, Value::Array(a)) => self.http_response_headers_values = Some(a),
            (42, Value::Bool(b)) => self.ssl = Some(b),
            (43, Value::Ip(ip)) => self.ip_src = Some(canonical_ip(ip)),
            (44, Value::Int(n)) => self.ip_src_asnum = Some(n),
            (45, Value::Bytes(b)) => self.ip_src_country = Some(b),
            (46, Value::Bytes(b)) => self.ip_src_continent = Some(b),
            (47, Value::Bytes(b)) => self.ip_src_city = Some(b),
            (48, Value::Bytes(b)) => self.ip_src_region = Some(b),
            (49, Value::Bytes(b)) => self.ip_src_region_code = Some(b),
            (50, Value::Bytes(b)) => self.ip_src_postal_code = Some(b),
            (51, Value::Bytes(b)) => self.ip_src_timezone_name = Some(b),
            (52, Value::Bool(b)) => self.ip_src_is_in_european_union = Some(b),
            (53, Value::Ip(ip)) => self.cf_edge_server_ip = Some(canonical_ip(ip)),
            (54, Value::Int(n)) => self.cf_edge_server_port = Some(n),
            (55, Value::Bytes(b)) => self.cf_ray_id = Some(b),
            (56, Value::Bytes(b)) => self.cf_random_seed = Some(b),
            (57, Value::Int(n)) => self.cf_threat_score = Some(n),
            (58, Value::Bool(b)) => self.cf_client_bot = Some(b),
            (59, Value::Int(n)) => self.cf_bot_management_score = Some(n),
            (60, Value::Bool(b)) => self.cf_bot_management_verified_bot = Some(b),
            (61, Value::Bool(b)) => self.cf_bot_management_static_resource = Some(b),
            (62, Value::Bytes(b)) => self.cf_bot_management_ja3_hash = Some(b),
            (63, Value::Bytes(b)) => self.cf_bot_management_ja4 = Some(b),
            (64, Value::Array(a)) => self.cf_bot_management_detection_ids = Some(a),
            (65, Value::Bytes(b)) => self.cf_verified_bot_category = Some(b),
            (66, Value::Int(n)) => self.cf_waf_score = Some(n),
            (67, Value::Int(n)) => self.cf_waf_score_sqli = Some(n),
            (68, Value::Int(n)) => self.cf_waf_score_xss = Some(n),
            (69, Value::Int(n)) => self.cf_waf_score_rce = Some(n),
            (70, Value::Bytes(b)) => self.cf_waf_score_class = Some(b),
            (71, Value::Bytes(b)) => self.cf_tls_version = Some(b),
            (72, Value::Bytes(b)) => self.cf_tls_cipher = Some(b),
            (73, Value::Bool(b)) => self.cf_tls_client_auth_cert_presented = Some(b),
            (74, Value::Bool(b)) => self.cf_tls_client_auth_cert_verified = Some(b),
            (75, Value::Bool(b)) => self.cf_tls_client_auth_cert_revoked = Some(b),
            (76, Value::Bytes(b)) => self.cf_tls_client_auth_cert_issuer_dn = Some(b),
            (77, Value::Bytes(b)) => self.cf_tls_client_auth_cert_subject_dn = Some(b),
            (78, Value::Bytes(b)) => self.cf_tls_client_auth_cert_issuer_dn_rfc2253 = Some(b),
            (79, Value::Bytes(b)) => self.cf_tls_client_auth_cert_subject_dn_rfc2253 = Some(b),
            (80, Value::Bytes(b)) => self.cf_tls_client_auth_cert_serial = Some(b),
            (81, Value::Bytes(b)) => self.cf_tls_client_auth_cert_issuer_serial = Some(b),
            (82, Value::Bytes(b)) => self.cf_tls_client_auth_cert_fingerprint_sha256 = Some(b),
            (83, Value::Bytes(b)) => self.cf_tls_client_auth_cert_fingerprint_sha1 = Some(b),
            (84, Value::Bytes(b)) => self.cf_tls_client_auth_cert_not_before = Some(b),
            (85, Value::Bytes(b)) => self.cf_tls_client_auth_cert_not_after = Some(b),
            (86, Value::Bytes(b)) => self.cf_tls_client_auth_cert_ski = Some(b),
            (87, Value::Bytes(b)) => self.cf_tls_client_auth_cert_issuer_ski = Some(b),
            (88, Value::Ip(ip)) => self.ip_dst = Some(canonical_ip(ip)),
            (89, Value::Bytes(b)) => self.ip_proto = Some(b),
            (90, Value::Int(n)) => self.ip_len = Some(n),
            (91, Value::Int(n)) => self.ip_ttl = Some(n),
            (92, Value::Int(n)) => self.tcp_srcport = Some(n),
            (93, Value::Int(n)) => self.tcp_dstport = Some(n),
            (94, Value::Int(n)) => self.tcp_flags = Some(n),
            (95, Value::Bool(b)) => self.tcp_flags_syn = Some(b),
            (96, Value::Bool(b)) => self.tcp_flags_ack = Some(b),
            (97, Value::Bool(b)) => self.tcp_flags_fin = Some(b),
            (98, Value::Bool(b)) => self.tcp_flags_reset = Some(b),
            (99, Value::Int(n)) => self.udp_srcport = Some(n),
            (100, Value::Int(n)) => self.udp_dstport = Some(n),
            (101, Value::Int(n)) => self.icmp_type = Some(n),
            (102, Value::Int(n)) => self.icmp_code = Some(n),
            _ => {}
        }
    }
}
