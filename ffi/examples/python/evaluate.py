#!/usr/bin/env python3
"""portcullis from Python through its C ABI (ctypes, no build step).

    python3 ffi/examples/python/evaluate.py [path/to/libportcullis_ffi.so]

Compiles the mTLS rule set of examples/mtls/, evaluates the request of
examples/mtls/blocked-no-cert.json, prints the verdict as JSON, then shows
the diagnostic of an expression with a mistake in it.
"""
import ctypes
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[3]
LIB = sys.argv[1] if len(sys.argv) > 1 else ROOT / "target/debug/libportcullis_ffi.so"

OK = 0
RULESET_JSON = 0


class Error(ctypes.Structure):
    pass


Error._fields_ = [
    ("status", ctypes.c_int),
    ("message", ctypes.c_char_p),
    ("rendered", ctypes.c_char_p),
    ("rule_id", ctypes.c_char_p),
    ("line", ctypes.c_uint32),
    ("column", ctypes.c_uint32),
    ("span_start", ctypes.c_size_t),
    ("span_end", ctypes.c_size_t),
    ("next", ctypes.POINTER(Error)),
]

lib = ctypes.CDLL(str(LIB))
P = ctypes.c_void_p
PP = ctypes.POINTER(ctypes.c_void_p)
ERR = ctypes.POINTER(ctypes.POINTER(Error))
STR = [ctypes.c_char_p, ctypes.c_size_t]

lib.portcullis_version.restype = ctypes.c_char_p
lib.portcullis_schema_default.argtypes = [PP]
lib.portcullis_ruleset_compile.argtypes = [P, P, *STR, ctypes.c_uint32, PP, ERR]
lib.portcullis_request_from_json.argtypes = [P, *STR, PP, ERR]
lib.portcullis_ruleset_evaluate_json.argtypes = [P, P, ctypes.POINTER(ctypes.c_void_p)]
lib.portcullis_filter_compile.argtypes = [P, P, *STR, PP, ERR]
lib.portcullis_string_free.argtypes = [P]
lib.portcullis_error_free.argtypes = [ctypes.POINTER(Error)]
for name in ["schema", "ruleset", "request", "filter"]:
    getattr(lib, f"portcullis_{name}_free").argtypes = [P]


class PortcullisError(Exception):
    """A failed call: the library's rendered diagnostic."""


def check(status, err=None):
    if status == OK:
        return
    text = f"status {status}"
    if err is not None and err:
        text = err.contents.rendered.decode()
        lib.portcullis_error_free(err)
    raise PortcullisError(text)


def arg(text):
    data = text.encode()
    return data, len(data)


def take_string(ptr):
    text = ctypes.string_at(ptr).decode()
    lib.portcullis_string_free(ptr)
    return text


print("portcullis", lib.portcullis_version().decode())
schema = ctypes.c_void_p()
check(lib.portcullis_schema_default(ctypes.byref(schema)))

rules = (ROOT / "examples/mtls/rules.json").read_text()
ruleset, err = ctypes.c_void_p(), ctypes.POINTER(Error)()
check(lib.portcullis_ruleset_compile(schema, None, *arg(rules), RULESET_JSON,
                                     ctypes.byref(ruleset), ctypes.byref(err)), err)

request_json = (ROOT / "examples/mtls/blocked-no-cert.json").read_text()
request = ctypes.c_void_p()
check(lib.portcullis_request_from_json(schema, *arg(request_json),
                                       ctypes.byref(request), ctypes.byref(err)), err)

verdict = ctypes.c_void_p()
check(lib.portcullis_ruleset_evaluate_json(ruleset, request, ctypes.byref(verdict)))
print(take_string(verdict))

bad = ctypes.c_void_p()
try:
    check(lib.portcullis_filter_compile(schema, None, *arg('http.host == "a" AND ssl'),
                                        ctypes.byref(bad), ctypes.byref(err)), err)
except PortcullisError as e:
    print(e, end="")

lib.portcullis_request_free(request)
lib.portcullis_ruleset_free(ruleset)
lib.portcullis_schema_free(schema)
