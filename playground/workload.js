// The benchmark workload of tests/workload/mod.rs, ported: the R1000 rule
// set (1,000 rules from nine templates) and its 1,000 requests, generated
// by the same LCG with the same seeds, so the browser measures what
// `cargo bench --bench peers` measures natively.

class Lcg {
  constructor(seed) { this.s = BigInt(seed); }
  next() {
    this.s = (this.s * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
    return Number(this.s >> 33n);
  }
  below(n) { return this.next() % n; }
}

const COUNTRIES = ["US", "GB", "DE", "FR", "CN", "RU", "BR", "IN", "JP", "KR", "NL", "SE", "PL", "TR", "IR", "KP"];

function ruleExpr(k, n) {
  switch (k % 9) {
    case 0: return `http.host == "h${n}.example.com"`;
    case 1: return `http.host in {"api${n}.example.com" "app${n}.example.com"} and not cf.tls_client_auth.cert_verified`;
    case 2: return `http.request.uri.path matches "^/api/v${n % 9}/item${n}(/|$)"`;
    case 3: return `ip.src in {10.${n % 256}.0.0/16 198.51.${Math.floor(n / 8) % 256}.0/24}`;
    case 4: return `ip.src.country in {"${COUNTRIES[n % COUNTRIES.length]}" "${COUNTRIES[Math.floor(n / 7) % COUNTRIES.length]}"} and http.request.uri.path == "/geo/${n}"`;
    case 5: return `http.user_agent contains "scanner${n}"`;
    case 6: return `cf.bot_management.score lt ${n % 30} and not cf.bot_management.verified_bot and http.host eq "shop${n}.example.com"`;
    case 7: return `http.referer contains "spam${n}.example"`;
    default: return `http.request.method == "POST" and http.request.uri.path == "/login${n}"`;
  }
}

/** The R1000 rule set as rule-set JSON text (every rule blocks; ids r0, r1...). */
export function r1000RuleSet() {
  const rng = new Lcg(7);
  const rules = [];
  for (let k = 0; k < 1000; k++) {
    rules.push({ id: `r${k}`, expression: ruleExpr(k, rng.below(2000)), action: "block" });
  }
  return JSON.stringify({ rules });
}

function request(r) {
  return {
    method: r.method,
    uri: r.path,
    headers: [["Host", r.host], ["User-Agent", r.ua], ["Referer", r.referer], ["Cookie", r.cookie]],
    client_ip: r.ip,
    client_cert: { presented: r.verified, verified: r.verified },
    "ip.src.country": r.country,
    "cf.bot_management.score": r.botScore,
    "cf.bot_management.verified_bot": false,
    "tcp.dstport": r.port,
  };
}

function benchRequest() {
  return {
    host: "api.example.com", path: "/v1/users/42", method: "GET",
    ua: "Mozilla/5.0 (X11; Linux x86_64)", referer: "https://www.example.com/", cookie: "sid=abc",
    ip: "192.0.2.55", country: "US", port: 443, verified: false, botScore: 80,
  };
}

/** The 1,000 requests R1000 is evaluated against, as request JSON objects. */
export function r1000Requests() {
  const rng = new Lcg(11);
  const out = [];
  for (let k = 0; k < 1000; k++) {
    const n = rng.below(2000);
    const r = benchRequest();
    switch (rng.below(4)) {
      case 0: r.host = `h${n}.example.com`; break;
      case 1: r.host = `api${n}.example.com`; break;
      case 2: r.host = `shop${n}.example.com`; break;
      default: r.host = "www.example.org";
    }
    switch (rng.below(4)) {
      case 0: r.path = `/api/v${n % 9}/item${n}`; break;
      case 1: r.path = `/login${n}`; break;
      case 2: r.path = `/geo/${n}`; break;
      default: r.path = "/index.html";
    }
    r.method = rng.below(3) === 0 ? "POST" : "GET";
    const a = rng.below(2) === 0 ? 10 : 203;
    const b = rng.below(256);
    const c = rng.below(256);
    r.ip = `${a}.${b}.${c}.7`;
    r.country = COUNTRIES[rng.below(COUNTRIES.length)];
    r.ua = rng.below(8) === 0 ? `scanner${rng.below(2000)}` : "Mozilla/5.0";
    r.referer = rng.below(8) === 0 ? `https://spam${rng.below(2000)}.example/` : "https://www.example.com/";
    r.verified = rng.below(2) === 0;
    r.botScore = rng.below(100);
    out.push(request(r));
  }
  return out;
}
