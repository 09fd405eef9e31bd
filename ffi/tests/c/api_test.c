/*
 * Every function of include/portcullis.h, from C, with its error paths:
 * built and run by ffi/tests/c_api.rs (under AddressSanitizer when the
 * compiler has it, which also reports any object left unfreed).
 *
 * Prints one line per failed check and ends with "c api: N checks passed,
 * M failed"; exits non-zero when a check failed.
 */
#include "portcullis.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (cond) {                                                                \
      passed++;                                                                \
    } else {                                                                   \
      failed++;                                                                \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

#define CHECK_STATUS(call, want)                                               \
  do {                                                                         \
    PortcullisStatus got_ = (call);                                            \
    if (got_ == (want)) {                                                      \
      passed++;                                                                \
    } else {                                                                   \
      failed++;                                                                \
      fprintf(stderr, "%s:%d: %s: status %s, wanted %s\n", __FILE__, __LINE__, \
              #call, portcullis_status_name(got_),                             \
              portcullis_status_name(want));                                   \
    }                                                                          \
  } while (0)

#define OK(call) CHECK_STATUS(call, PORTCULLIS_STATUS_OK)

static const char *SEED =
    "(http.host in {\"orangeclouded.com\" \"api.orangeclouded.com\"} and "
    "(not cf.tls_client_auth.cert_verified or "
    "cf.tls_client_auth.cert_revoked))";

static const char *RULES_JSON =
    "{\"rules\": ["
    "{\"id\": \"log-api\", \"expression\": \"http.host in "
    "{\\\"orangeclouded.com\\\" \\\"api.orangeclouded.com\\\"}\", "
    "\"action\": \"log\"},"
    "{\"id\": \"mtls-required\", \"expression\": \"(http.host in "
    "{\\\"orangeclouded.com\\\" \\\"api.orangeclouded.com\\\"} and (not "
    "cf.tls_client_auth.cert_verified or cf.tls_client_auth.cert_revoked))\", "
    "\"action\": \"block\"}"
    "]}";

static const char *RULES_TOML =
    "[[rules]]\n"
    "id = \"no-admin\"\n"
    "expression = 'http.request.uri.path matches \"^/admin\"'\n"
    "action = \"block\"\n";

/* A request for the default schema, from raw parts. */
static PortcullisRequest *http_request(const PortcullisSchema *schema,
                                       const char *host, bool verified,
                                       bool revoked) {
  PortcullisRequestBuilder *b = NULL;
  PortcullisRequest *r = NULL;
  PortcullisError *err = NULL;
  OK(portcullis_request_builder_new(schema, &b));
  OK(portcullis_request_builder_method(b, PORTCULLIS_STR("GET"), &err));
  OK(portcullis_request_builder_scheme(b, PORTCULLIS_STR("https"), &err));
  OK(portcullis_request_builder_uri(b, PORTCULLIS_STR("/v1/../admin/x?id=7"),
                                    &err));
  OK(portcullis_request_builder_header(b, PORTCULLIS_STR("Host"),
                                       PORTCULLIS_STR(host), &err));
  OK(portcullis_request_builder_header(b, PORTCULLIS_STR("User-Agent"),
                                       PORTCULLIS_STR("curl/8.0"), &err));
  OK(portcullis_request_builder_body(b, PORTCULLIS_STR("a=1&b=2"),
                                     PORTCULLIS_STR(""), &err));
  OK(portcullis_request_builder_client_ip(b, PORTCULLIS_STR("203.0.113.7"),
                                          &err));
  OK(portcullis_request_builder_tls(b, PORTCULLIS_STR("TLSv1.3"),
                                    PORTCULLIS_STR("AEAD-AES128-GCM-SHA256"),
                                    &err));
  OK(portcullis_request_builder_client_cert(b, verified, verified, revoked,
                                            &err));
  OK(portcullis_request_builder_set_int(b, PORTCULLIS_STR("tcp.dstport"), 443,
                                        &err));
  OK(portcullis_request_builder_build(&b, &r, &err));
  CHECK(b == NULL);
  CHECK(r != NULL);
  CHECK(err == NULL);
  return r;
}

static void test_version_and_names(void) {
  CHECK(strcmp(portcullis_version(), "0.1.0") == 0);
  CHECK(strcmp(portcullis_status_name(PORTCULLIS_STATUS_OK), "ok") == 0);
  CHECK(strcmp(portcullis_status_name(PORTCULLIS_STATUS_SYNTAX), "syntax") ==
        0);
  CHECK(strcmp(portcullis_status_name(12345), "unknown") == 0);
}

static void test_filter(void) {
  PortcullisSchema *schema = NULL;
  OK(portcullis_schema_default(&schema));

  PortcullisFilter *filter = NULL;
  PortcullisError *err = (PortcullisError *)0x1; /* overwritten with NULL */
  OK(portcullis_filter_compile(schema, NULL, PORTCULLIS_STR(SEED), &filter,
                               &err));
  CHECK(filter != NULL);
  CHECK(err == NULL);

  PortcullisRequest *no_cert =
      http_request(schema, "api.orangeclouded.com", false, false);
  PortcullisRequest *verified =
      http_request(schema, "api.orangeclouded.com", true, false);
  PortcullisRequest *revoked =
      http_request(schema, "API.orangeclouded.com.", true, true);
  PortcullisRequest *other = http_request(schema, "example.com", false, false);
  bool m = false;
  OK(portcullis_filter_matches(filter, no_cert, &m));
  CHECK(m);
  OK(portcullis_filter_matches(filter, verified, &m));
  CHECK(!m);
  OK(portcullis_filter_matches(filter, revoked, &m));
  CHECK(m); /* the host is normalised; revoked counts as unverified */
  OK(portcullis_filter_matches(filter, other, &m));
  CHECK(!m);

  /* Derived fields: the normalised path, arguments, the form body. */
  PortcullisFilter *derived = NULL;
  OK(portcullis_filter_compile(
      schema, NULL,
      PORTCULLIS_STR("http.request.uri.path == \"/admin/x\" and "
                     "http.request.uri.args[\"id\"][0] == \"7\" and ssl and "
                     "ip.src in {203.0.113.0/24} and tcp.dstport == 443 and "
                     "http.user_agent contains \"curl\" and "
                     "cf.tls_version == \"TLSv1.3\""),
      &derived, NULL));
  OK(portcullis_filter_matches(derived, no_cert, &m));
  CHECK(m);

  char *listing = NULL;
  OK(portcullis_filter_disassemble(filter, &listing));
  CHECK(listing != NULL && strstr(listing, "http.host") != NULL);
  portcullis_string_free(listing);

  /* A syntax error: status, message, position and carets. */
  PortcullisFilter *bad = (PortcullisFilter *)0x1;
  CHECK_STATUS(portcullis_filter_compile(
                   schema, NULL, PORTCULLIS_STR("http.host == \"a\" AND ssl"),
                   &bad, &err),
               PORTCULLIS_STATUS_SYNTAX);
  CHECK(bad == NULL);
  CHECK(err != NULL);
  if (err) {
    CHECK(err->status == PORTCULLIS_STATUS_SYNTAX);
    CHECK(strstr(err->message, "did you mean `and`?") != NULL);
    CHECK(err->line == 1 && err->column == 18);
    CHECK(err->span_start == 17 && err->span_end == 20);
    CHECK(strstr(err->rendered, "--> 1:18") != NULL);
    CHECK(strstr(err->rendered, "^^^") != NULL);
    CHECK(err->rule_id == NULL && err->next == NULL);
    portcullis_error_free(err);
  }

  /* An unknown field on line 2, with a suggestion. */
  err = NULL;
  CHECK_STATUS(portcullis_filter_compile(
                   schema, NULL, PORTCULLIS_STR("ssl and\n  http.hots == \"a\""),
                   &bad, &err),
               PORTCULLIS_STATUS_UNKNOWN_FIELD);
  CHECK(err != NULL && err->line == 2 && err->column == 3);
  CHECK(err != NULL && strstr(err->message, "http.host") != NULL);
  portcullis_error_free(err);

  /* A type error, and no error struct asked for. */
  CHECK_STATUS(portcullis_filter_compile(schema, NULL,
                                         PORTCULLIS_STR("tcp.dstport == \"a\""),
                                         &bad, NULL),
               PORTCULLIS_STATUS_TYPE);
  /* Invalid UTF-8, embedded NUL (the length rules, not the NUL). */
  CHECK_STATUS(
      portcullis_filter_compile(schema, NULL, "\xff\xfe", 2, &bad, &err),
      PORTCULLIS_STATUS_INVALID_UTF8);
  CHECK(err != NULL && err->line == 0 && err->column == 0);
  portcullis_error_free(err);
  CHECK_STATUS(portcullis_filter_compile(schema, NULL, "ssl\0 or", 7, &bad,
                                         NULL),
               PORTCULLIS_STATUS_SYNTAX);
  /* An empty expression (NULL, 0). */
  CHECK_STATUS(portcullis_filter_compile(schema, NULL, NULL, 0, &bad, NULL),
               PORTCULLIS_STATUS_SYNTAX);

  /* NULL and mistyped arguments are statuses, never crashes. */
  CHECK_STATUS(
      portcullis_filter_compile(NULL, NULL, PORTCULLIS_STR("ssl"), &bad, &err),
      PORTCULLIS_STATUS_NULL_ARGUMENT);
  CHECK(err != NULL && strstr(err->message, "schema") != NULL);
  portcullis_error_free(err);
  CHECK_STATUS(portcullis_filter_compile(schema, NULL, NULL, 3, &bad, NULL),
               PORTCULLIS_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(portcullis_filter_compile(schema, NULL, PORTCULLIS_STR("ssl"),
                                         NULL, NULL),
               PORTCULLIS_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(portcullis_filter_compile((const PortcullisSchema *)filter, NULL,
                                         PORTCULLIS_STR("ssl"), &bad, NULL),
               PORTCULLIS_STATUS_WRONG_OBJECT);
  CHECK_STATUS(portcullis_filter_compile(schema,
                                         (const PortcullisLists *)schema,
                                         PORTCULLIS_STR("ssl"), &bad, NULL),
               PORTCULLIS_STATUS_WRONG_OBJECT);
  CHECK_STATUS(portcullis_filter_matches(NULL, no_cert, &m),
               PORTCULLIS_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(portcullis_filter_matches(filter, NULL, &m),
               PORTCULLIS_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(portcullis_filter_matches(filter, no_cert, NULL),
               PORTCULLIS_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(portcullis_filter_matches(
                   filter, (const PortcullisRequest *)filter, &m),
               PORTCULLIS_STATUS_WRONG_OBJECT);
  CHECK_STATUS(portcullis_filter_disassemble(NULL, &listing),
               PORTCULLIS_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(portcullis_filter_disassemble(filter, NULL),
               PORTCULLIS_STATUS_NULL_ARGUMENT);
  /* A misaligned pointer is not an object. */
  CHECK_STATUS(portcullis_filter_matches(
                   (const PortcullisFilter *)((const char *)filter + 1),
                   no_cert, &m),
               PORTCULLIS_STATUS_WRONG_OBJECT);

  /* Freeing NULL, and an object of another kind, does nothing. */
  portcullis_filter_free(NULL);
  portcullis_filter_free((PortcullisFilter *)schema);
  portcullis_string_free(NULL);
  portcullis_error_free(NULL);

  portcullis_request_free(no_cert);
  portcullis_request_free(verified);
  portcullis_request_free(revoked);
  portcullis_request_free(other);
  portcullis_filter_free(derived);
  portcullis_filter_free(filter);
  portcullis_schema_free(schema);
}

static void test_builder_errors(void) {
  PortcullisSchema *schema = NULL;
  OK(portcullis_schema_default(&schema));
  PortcullisRequestBuilder *b = NULL;
  PortcullisError *err = NULL;
  OK(portcullis_request_builder_new(schema, &b));

  /* Fields by name, each type, checked as they are set. */
  OK(portcullis_request_builder_set_bytes(b, PORTCULLIS_STR("http.host"),
                                          PORTCULLIS_STR("a.com"), &err));
  OK(portcullis_request_builder_set_bool(
      b, PORTCULLIS_STR("cf.bot_management.verified_bot"), true, &err));
  OK(portcullis_request_builder_set_ip(b, PORTCULLIS_STR("ip.src"),
                                       PORTCULLIS_STR("2001:db8::1"), &err));
  OK(portcullis_request_builder_set_json(
      b, PORTCULLIS_STR("http.request.uri.args"),
      PORTCULLIS_STR("{\"q\": [\"x\", \"y\"]}"), &err));
  CHECK_STATUS(portcullis_request_builder_set_int(
                   b, PORTCULLIS_STR("http.host"), 1, &err),
               PORTCULLIS_STATUS_REQUEST);
  CHECK(err != NULL && strstr(err->message, "http.host") != NULL);
  portcullis_error_free(err);
  CHECK_STATUS(portcullis_request_builder_set_int(
                   b, PORTCULLIS_STR("http.hots"), 1, &err),
               PORTCULLIS_STATUS_REQUEST);
  CHECK(err != NULL && strstr(err->message, "did you mean") != NULL);
  portcullis_error_free(err);
  CHECK_STATUS(portcullis_request_builder_set_ip(b, PORTCULLIS_STR("ip.src"),
                                                 PORTCULLIS_STR("300.1.1.1"),
                                                 NULL),
               PORTCULLIS_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(portcullis_request_builder_client_ip(
                   b, PORTCULLIS_STR("not an address"), NULL),
               PORTCULLIS_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(portcullis_request_builder_set_json(
                   b, PORTCULLIS_STR("tcp.dstport"), PORTCULLIS_STR("{"), &err),
               PORTCULLIS_STATUS_REQUEST);
  portcullis_error_free(err);
  CHECK_STATUS(portcullis_request_builder_header(b, "\xff", 1, "v", 1, NULL),
               PORTCULLIS_STATUS_INVALID_UTF8);
  CHECK_STATUS(portcullis_request_builder_method(NULL, PORTCULLIS_STR("GET"),
                                                 NULL),
               PORTCULLIS_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(portcullis_request_builder_method(
                   (PortcullisRequestBuilder *)schema, PORTCULLIS_STR("GET"),
                   NULL),
               PORTCULLIS_STATUS_WRONG_OBJECT);

  PortcullisRequest *r = NULL;
  OK(portcullis_request_builder_build(&b, &r, NULL));
  CHECK(b == NULL);
  PortcullisFilter *f = NULL;
  OK(portcullis_filter_compile(
      schema, NULL,
      PORTCULLIS_STR("http.host == \"a.com\" and cf.bot_management.verified_bot "
                     "and ip.src in {2001:db8::/32} and "
                     "http.request.uri.args[\"q\"][1] == \"y\""),
      &f, NULL));
  bool m = false;
  OK(portcullis_filter_matches(f, r, &m));
  CHECK(m);

  /* Building twice: the builder pointer is NULL after the first. */
  PortcullisRequest *again = (PortcullisRequest *)0x1;
  CHECK_STATUS(portcullis_request_builder_build(&b, &again, NULL),
               PORTCULLIS_STATUS_NULL_ARGUMENT);
  CHECK(again == NULL);
  CHECK_STATUS(portcullis_request_builder_build(NULL, &again, NULL),
               PORTCULLIS_STATUS_NULL_ARGUMENT);
  portcullis_request_builder_free(NULL);

  /* A builder discarded unbuilt. */
  OK(portcullis_request_builder_new(schema, &b));
  portcullis_request_builder_free(b);
  CHECK_STATUS(portcullis_request_builder_new(NULL, &b),
               PORTCULLIS_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(portcullis_request_builder_new(schema, NULL),
               PORTCULLIS_STATUS_NULL_ARGUMENT);

  /* Requests from JSON: raw parts and fields. */
  PortcullisRequest *j = NULL;
  OK(portcullis_request_from_json(
      schema,
      PORTCULLIS_STR("{\"uri\": \"/public/%2e%2e/admin\", \"headers\": "
                     "{\"Host\": \"a.com\"}, \"cf.bot_management.verified_bot\": "
                     "true, \"ip.src\": \"2001:db8::2\", "
                     "\"http.request.uri.args\": {\"q\": [\"x\", \"y\"]}}"),
      &j, NULL));
  OK(portcullis_filter_matches(f, j, &m));
  CHECK(m);
  PortcullisFilter *admin = NULL;
  OK(portcullis_filter_compile(
      schema, NULL, PORTCULLIS_STR("http.request.uri.path == \"/admin\""),
      &admin, NULL));
  OK(portcullis_filter_matches(admin, j, &m));
  CHECK(m);
  PortcullisRequest *bad = (PortcullisRequest *)0x1;
  PortcullisError *e = NULL;
  CHECK_STATUS(portcullis_request_from_json(
                   schema, PORTCULLIS_STR("{\"urii\": \"/\"}"), &bad, &e),
               PORTCULLIS_STATUS_REQUEST);
  CHECK(bad == NULL);
  CHECK(e != NULL && strstr(e->message, "did you mean `uri`?") != NULL);
  portcullis_error_free(e);
  CHECK_STATUS(
      portcullis_request_from_json(schema, PORTCULLIS_STR("[1"), &bad, NULL),
      PORTCULLIS_STATUS_REQUEST);
  CHECK_STATUS(portcullis_request_from_json(NULL, PORTCULLIS_STR("{}"), &bad,
                                            NULL),
               PORTCULLIS_STATUS_NULL_ARGUMENT);

  portcullis_request_free(j);
  portcullis_request_free(NULL);
  portcullis_filter_free(admin);
  portcullis_filter_free(f);
  portcullis_request_free(r);
  portcullis_schema_free(schema);
}

static void test_custom_schema_and_lists(void) {
  PortcullisSchema *schema = NULL;
  PortcullisError *err = NULL;
  OK(portcullis_schema_from_json(
      PORTCULLIS_STR("{\"fields\": {\"device.id\": \"Bytes\", \"device.ip\": "
                     "\"Ip\", \"mqtt.qos\": \"Int\", \"tags\": "
                     "\"Array<Bytes>\"}, \"lists\": {\"quarantined\": \"Ip\"}}"),
      &schema, &err));
  CHECK(err == NULL);
  CHECK_STATUS(portcullis_schema_from_json(PORTCULLIS_STR("{\"fields\": 1}"),
                                           NULL, NULL),
               PORTCULLIS_STATUS_NULL_ARGUMENT);
  PortcullisSchema *bad_schema = NULL;
  CHECK_STATUS(portcullis_schema_from_json(
                   PORTCULLIS_STR("{\"fields\": {\"a\": \"Strng\"}}"),
                   &bad_schema, &err),
               PORTCULLIS_STATUS_CONFIG);
  CHECK(bad_schema == NULL && err != NULL);
  portcullis_error_free(err);

  PortcullisLists *lists = NULL;
  OK(portcullis_lists_new(schema, &lists));
  PortcullisFilter *f = NULL;
  OK(portcullis_filter_compile(
      schema, lists,
      PORTCULLIS_STR("device.ip in $quarantined or (mqtt.qos > 1 and "
                     "any(tags[*] == \"beta\"))"),
      &f, &err));
  CHECK_STATUS(portcullis_filter_compile(schema, lists,
                                         PORTCULLIS_STR("device.ip in $nope"),
                                         NULL, NULL),
               PORTCULLIS_STATUS_NULL_ARGUMENT);
  PortcullisFilter *nope = NULL;
  CHECK_STATUS(portcullis_filter_compile(schema, lists,
                                         PORTCULLIS_STR("device.ip in $nope"),
                                         &nope, &err),
               PORTCULLIS_STATUS_UNKNOWN_LIST);
  portcullis_error_free(err);

  /* Fields by name for a schema of one's own; raw HTTP parts are refused. */
  PortcullisRequestBuilder *b = NULL;
  OK(portcullis_request_builder_new(schema, &b));
  OK(portcullis_request_builder_set_bytes(b, PORTCULLIS_STR("device.id"),
                                          PORTCULLIS_STR("d-1"), NULL));
  OK(portcullis_request_builder_set_ip(b, PORTCULLIS_STR("device.ip"),
                                       PORTCULLIS_STR("192.0.2.9"), NULL));
  OK(portcullis_request_builder_set_int(b, PORTCULLIS_STR("mqtt.qos"), 0,
                                        NULL));
  CHECK_STATUS(portcullis_request_builder_header(b, PORTCULLIS_STR("Host"),
                                                 PORTCULLIS_STR("a"), &err),
               PORTCULLIS_STATUS_INVALID_ARGUMENT);
  CHECK(err != NULL && strstr(err->message, "default schema") != NULL);
  portcullis_error_free(err);
  PortcullisRequest *r = NULL;
  OK(portcullis_request_builder_build(&b, &r, NULL));

  bool m = true;
  OK(portcullis_filter_matches(f, r, &m));
  CHECK(!m);
  /* Setting a list: every filter compiled with the lists sees it. */
  OK(portcullis_lists_set(lists, PORTCULLIS_STR("quarantined"),
                          PORTCULLIS_STR("[\"192.0.2.0/24\"]"), &err));
  OK(portcullis_filter_matches(f, r, &m));
  CHECK(m);
  /* Swapping several at once; a list not named keeps its contents. */
  OK(portcullis_lists_load(lists,
                           PORTCULLIS_STR("{\"quarantined\": [\"10.0.0.1\"]}"),
                           &err));
  OK(portcullis_filter_matches(f, r, &m));
  CHECK(!m);
  CHECK_STATUS(portcullis_lists_set(lists, PORTCULLIS_STR("quarantined"),
                                    PORTCULLIS_STR("[\"not-an-ip\"]"), &err),
               PORTCULLIS_STATUS_CONFIG);
  portcullis_error_free(err);
  CHECK_STATUS(portcullis_lists_set(lists, PORTCULLIS_STR("nope"),
                                    PORTCULLIS_STR("[]"), &err),
               PORTCULLIS_STATUS_CONFIG);
  portcullis_error_free(err);
  CHECK_STATUS(portcullis_lists_set(lists, PORTCULLIS_STR("quarantined"),
                                    PORTCULLIS_STR("{"), NULL),
               PORTCULLIS_STATUS_CONFIG);
  CHECK_STATUS(portcullis_lists_load(lists, PORTCULLIS_STR("[]"), NULL),
               PORTCULLIS_STATUS_CONFIG);
  CHECK_STATUS(portcullis_lists_load(NULL, PORTCULLIS_STR("{}"), NULL),
               PORTCULLIS_STATUS_NULL_ARGUMENT);
  PortcullisLists *no_lists = (PortcullisLists *)0x1;
  CHECK_STATUS(portcullis_lists_new(NULL, &no_lists),
               PORTCULLIS_STATUS_NULL_ARGUMENT);
  CHECK(no_lists == NULL); /* a failed call leaves no stale pointer */
  /* The failed calls left the list as it was. */
  OK(portcullis_filter_matches(f, r, &m));
  CHECK(!m);

  /* Requests from JSON for this schema are fields by name. */
  PortcullisRequest *j = NULL;
  OK(portcullis_request_from_json(
      schema,
      PORTCULLIS_STR("{\"device.ip\": \"198.51.100.1\", \"mqtt.qos\": 2, "
                     "\"tags\": [\"alpha\", \"beta\"]}"),
      &j, NULL));
  OK(portcullis_filter_matches(f, j, &m));
  CHECK(m);

  /* Objects of different schemas do not mix. */
  PortcullisSchema *http = NULL;
  OK(portcullis_schema_default(&http));
  PortcullisRequest *hr = http_request(http, "a.com", false, false);
  CHECK_STATUS(portcullis_filter_matches(f, hr, &m),
               PORTCULLIS_STATUS_SCHEMA_MISMATCH);
  CHECK_STATUS(portcullis_filter_compile(http, lists, PORTCULLIS_STR("ssl"),
                                         &nope, NULL),
               PORTCULLIS_STATUS_SCHEMA_MISMATCH);

  /* The default schema with a list: its requests and filters fit the default's. */
  PortcullisSchema *with_list = NULL, *no_schema = NULL;
  OK(portcullis_schema_with_list(http, PORTCULLIS_STR("office"),
                                 PORTCULLIS_STR("Ip"), &with_list, &err));
  CHECK_STATUS(portcullis_schema_with_list(http, PORTCULLIS_STR("x"),
                                           PORTCULLIS_STR("Ipp"), &no_schema,
                                           &err),
               PORTCULLIS_STATUS_CONFIG);
  portcullis_error_free(err);
  CHECK_STATUS(portcullis_schema_with_list(http, NULL, 0, PORTCULLIS_STR("Ip"),
                                           &no_schema, NULL),
               PORTCULLIS_STATUS_INVALID_ARGUMENT);
  CHECK(no_schema == NULL);
  PortcullisLists *office = NULL;
  OK(portcullis_lists_new(with_list, &office));
  OK(portcullis_lists_set(office, PORTCULLIS_STR("office"),
                          PORTCULLIS_STR("[\"203.0.113.0/24\"]"), NULL));
  PortcullisFilter *in_office = NULL;
  OK(portcullis_filter_compile(with_list, office,
                               PORTCULLIS_STR("ip.src in $office"), &in_office,
                               NULL));
  OK(portcullis_filter_matches(in_office, hr, &m));
  CHECK(m);
  portcullis_filter_free(in_office);
  portcullis_lists_free(office);
  portcullis_schema_free(with_list);

  portcullis_request_free(hr);
  portcullis_schema_free(http);
  portcullis_request_free(j);
  portcullis_request_free(r);
  portcullis_filter_free(f);
  /* The lists and schema may go before what was compiled with them... */
  portcullis_lists_free(lists);
  portcullis_schema_free(schema);
  portcullis_lists_free(NULL);
  portcullis_schema_free(NULL);
}

static void test_ruleset(void) {
  PortcullisSchema *schema = NULL;
  OK(portcullis_schema_default(&schema));
  PortcullisRuleSet *set = NULL;
  PortcullisError *err = NULL;
  OK(portcullis_ruleset_compile(schema, NULL, PORTCULLIS_STR(RULES_JSON),
                                PORTCULLIS_RULESET_JSON, &set, &err));
  CHECK(err == NULL);
  size_t len = 0;
  OK(portcullis_ruleset_len(set, &len));
  CHECK(len == 2);

  PortcullisRequest *no_cert =
      http_request(schema, "api.orangeclouded.com", false, false);
  PortcullisRequest *verified =
      http_request(schema, "api.orangeclouded.com", true, false);
  PortcullisVerdict v;
  memset(&v, 0xab, sizeof v);
  OK(portcullis_ruleset_evaluate(set, no_cert, &v));
  CHECK(v.action == PORTCULLIS_ACTION_BLOCK);
  CHECK(v.rule != NULL && v.rule_len == strlen("mtls-required") &&
        memcmp(v.rule, "mtls-required", v.rule_len) == 0);
  CHECK(v.logged == 1 && v.skipped == 0);
  OK(portcullis_ruleset_evaluate(set, verified, &v));
  CHECK(v.action == PORTCULLIS_ACTION_NONE && v.rule == NULL &&
        v.rule_len == 0 && v.logged == 1);

  char *json = NULL;
  OK(portcullis_ruleset_evaluate_json(set, no_cert, &json));
  CHECK(json != NULL &&
        strcmp(json, "{\"action\":\"block\",\"rule\":\"mtls-required\","
                     "\"logged\":[\"log-api\"],\"skipped\":[]}") == 0);
  portcullis_string_free(json);
  OK(portcullis_ruleset_evaluate_json(set, verified, &json));
  CHECK(json != NULL && strstr(json, "\"action\":null") != NULL);
  portcullis_string_free(json);

  /* TOML. */
  PortcullisRuleSet *toml = NULL;
  OK(portcullis_ruleset_compile(schema, NULL, PORTCULLIS_STR(RULES_TOML),
                                PORTCULLIS_RULESET_TOML, &toml, NULL));
  OK(portcullis_ruleset_evaluate(toml, no_cert, &v)); /* path /admin/x */
  CHECK(v.action == PORTCULLIS_ACTION_BLOCK);
  portcullis_ruleset_free(toml);

  /* Every bad rule is reported, each with its rule id and position. */
  PortcullisRuleSet *bad = (PortcullisRuleSet *)0x1;
  CHECK_STATUS(
      portcullis_ruleset_compile(
          schema, NULL,
          PORTCULLIS_STR("{\"rules\": ["
                         "{\"id\": \"a\", \"expression\": \"http.hots == "
                         "\\\"x\\\"\", \"action\": \"block\"},"
                         "{\"id\": \"ok\", \"expression\": \"ssl\", "
                         "\"action\": \"log\"},"
                         "{\"id\": \"b\", \"expression\": \"ssl and\", "
                         "\"action\": \"allow\"}]}"),
          PORTCULLIS_RULESET_JSON, &bad, &err),
      PORTCULLIS_STATUS_UNKNOWN_FIELD);
  CHECK(bad == NULL);
  CHECK(err != NULL);
  if (err) {
    CHECK(err->rule_id != NULL && strcmp(err->rule_id, "a") == 0);
    CHECK(err->line == 1 && err->column == 1);
    CHECK(err->next != NULL);
    if (err->next) {
      CHECK(strcmp(err->next->rule_id, "b") == 0);
      CHECK(err->next->status == PORTCULLIS_STATUS_SYNTAX);
      CHECK(err->next->next == NULL);
    }
    portcullis_error_free(err);
  }
  CHECK_STATUS(portcullis_ruleset_compile(schema, NULL, PORTCULLIS_STR("{"),
                                          PORTCULLIS_RULESET_JSON, &bad, &err),
               PORTCULLIS_STATUS_CONFIG);
  CHECK(err != NULL && err->rule_id == NULL);
  portcullis_error_free(err);
  /* A misspelled key of the file: where it is in the file, and the fix. */
  CHECK_STATUS(portcullis_ruleset_compile(
                   schema, NULL,
                   PORTCULLIS_STR("{\"rules\": [\n  {\"id\": \"a\", \"expresion\": "
                                  "\"ssl\", \"action\": \"log\"}]}"),
                   PORTCULLIS_RULESET_JSON, &bad, &err),
               PORTCULLIS_STATUS_CONFIG);
  CHECK(err != NULL && err->line == 2 && err->column > 1);
  CHECK(err != NULL && strstr(err->message, "`expression`") != NULL);
  CHECK(err != NULL && err->rule_id != NULL && strcmp(err->rule_id, "a") == 0);
  CHECK(err != NULL && strstr(err->rendered, "--> 2:") != NULL);
  portcullis_error_free(err);
  CHECK_STATUS(portcullis_ruleset_compile(schema, NULL, PORTCULLIS_STR("{}"), 7,
                                          &bad, NULL),
               PORTCULLIS_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(portcullis_ruleset_compile(NULL, NULL, PORTCULLIS_STR("{}"),
                                          PORTCULLIS_RULESET_JSON, &bad, NULL),
               PORTCULLIS_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(portcullis_ruleset_evaluate(set, NULL, &v),
               PORTCULLIS_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(portcullis_ruleset_evaluate(set, no_cert, NULL),
               PORTCULLIS_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(portcullis_ruleset_evaluate(
                   (const PortcullisRuleSet *)no_cert, no_cert, &v),
               PORTCULLIS_STATUS_WRONG_OBJECT);
  CHECK_STATUS(portcullis_ruleset_evaluate_json(set, no_cert, NULL),
               PORTCULLIS_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(portcullis_ruleset_len(NULL, &len),
               PORTCULLIS_STATUS_NULL_ARGUMENT);
  CHECK_STATUS(portcullis_ruleset_len(set, NULL),
               PORTCULLIS_STATUS_NULL_ARGUMENT);

  portcullis_request_free(no_cert);
  portcullis_request_free(verified);
  portcullis_ruleset_free(set);
  portcullis_ruleset_free(NULL);
  portcullis_schema_free(schema);
}

/* Threads evaluate one filter and one request while another swaps the list. */
struct shared {
  const PortcullisFilter *filter;
  const PortcullisRequest *request;
  int errors;
  int matched;
};

static void *evaluate_many(void *arg) {
  struct shared *s = arg;
  for (int k = 0; k < 20000; k++) {
    bool m = false;
    if (portcullis_filter_matches(s->filter, s->request, &m) !=
        PORTCULLIS_STATUS_OK) {
      __atomic_add_fetch(&s->errors, 1, __ATOMIC_RELAXED);
    }
    if (m) {
      __atomic_add_fetch(&s->matched, 1, __ATOMIC_RELAXED);
    }
  }
  return NULL;
}

static void test_threads(void) {
  PortcullisSchema *base = NULL, *schema = NULL;
  OK(portcullis_schema_default(&base));
  OK(portcullis_schema_with_list(base, PORTCULLIS_STR("office"),
                                 PORTCULLIS_STR("Ip"), &schema, NULL));
  PortcullisLists *lists = NULL;
  OK(portcullis_lists_new(schema, &lists));
  PortcullisFilter *f = NULL;
  OK(portcullis_filter_compile(schema, lists,
                               PORTCULLIS_STR("ip.src in $office"), &f, NULL));
  PortcullisRequest *r = http_request(schema, "a.com", false, false);
  struct shared s = {f, r, 0, 0};
  pthread_t threads[3];
  for (int k = 0; k < 3; k++) {
    CHECK(pthread_create(&threads[k], NULL, evaluate_many, &s) == 0);
  }
  for (int k = 0; k < 200; k++) {
    const char *items = k % 2 ? "[\"203.0.113.0/24\"]" : "[\"10.0.0.0/8\"]";
    OK(portcullis_lists_set(lists, PORTCULLIS_STR("office"),
                            PORTCULLIS_STR(items), NULL));
  }
  for (int k = 0; k < 3; k++) {
    pthread_join(threads[k], NULL);
  }
  CHECK(s.errors == 0);
  CHECK(s.matched <= 60000);
  bool m = false;
  OK(portcullis_filter_matches(f, r, &m)); /* the last set was 203.0.113.0/24 */
  CHECK(m);
  portcullis_request_free(r);
  portcullis_filter_free(f);
  portcullis_lists_free(lists);
  portcullis_schema_free(schema);
  portcullis_schema_free(base);
}

int main(void) {
  test_version_and_names();
  test_filter();
  test_builder_errors();
  test_custom_schema_and_lists();
  test_ruleset();
  test_threads();
  printf("c api: %d checks passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
