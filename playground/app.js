// The playground: every keystroke (after a short pause) recompiles what
// changed and re-evaluates, through the engine compiled to WebAssembly.
import init, { Playground, version } from "./pkg/portcullis_wasm.js";
import { r1000RuleSet, r1000Requests } from "./workload.js";

const SEED = '(http.host in {"orangeclouded.com" "api.orangeclouded.com"} and (not cf.tls_client_auth.cert_verified or cf.tls_client_auth.cert_revoked))';

const DEFAULTS = {
  json: JSON.stringify({
    rules: [
      { id: "allow-health-checks", expression: 'http.request.uri.path eq "/healthz" and ip.src in {10.0.0.0/8}', action: "allow" },
      { id: "log-api", expression: 'http.host in {"orangeclouded.com" "api.orangeclouded.com"}', action: "log" },
      { id: "mtls-required", expression: SEED, action: "block" },
      { id: "challenge-bots", expression: "cf.bot_management.score lt 30", action: "managed_challenge", enabled: false },
    ],
  }, null, 2),
  toml: `[[rules]]
id = "log-api"
expression = 'http.host in {"orangeclouded.com" "api.orangeclouded.com"}'
action = "log"

[[rules]]
id = "mtls-required"
expression = '${SEED}'
action = "block"
`,
  expression: SEED,
};

const REQUEST = JSON.stringify({
  method: "GET",
  uri: "/v1/accounts",
  headers: { Host: "api.orangeclouded.com", "User-Agent": "curl/8.5.0" },
  client_ip: "203.0.113.7",
  scheme: "https",
  client_cert: { presented: false, verified: false },
}, null, 2);

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  Object.assign(e, attrs);
  e.append(...children);
  return e;
};

let pg;
const texts = { lists: null, rules: null, mode: null, request: null };
const diagnostics = { lists: [], rules: [], request: [] };

function renderDiagnostics() {
  const all = [...diagnostics.lists, ...diagnostics.rules, ...diagnostics.request];
  const box = $("diagnostics");
  box.hidden = all.length === 0;
  box.textContent = all
    .map((d) => (d.where ? `[${d.where}${d.rule ? ` rule ${d.rule}` : ""}] ` : "") + d.rendered)
    .join("\n");
}

function mark(value) {
  if (value === true) return el("span", { className: "t", textContent: "✓" });
  if (value === false) return el("span", { className: "f", textContent: "✗" });
  return el("span", { className: "m", textContent: "·" });
}

function explainRows(rows) {
  return rows.map((r) => el("div", { className: "explain-row" }, "  ".repeat(r.depth), mark(r.value), " ", r.text));
}

function renderResult(result) {
  const verdict = $("verdict");
  const table = $("rules-table");
  const explain = $("explain");
  table.replaceChildren();
  explain.replaceChildren();
  if (!result.ready) {
    verdict.className = "verdict error";
    verdict.textContent = "fix the errors below to see a verdict";
    $("disassembly").textContent = "";
    return;
  }
  if (result.mode === "expression") {
    verdict.className = `verdict ${result.matched ? "match" : "nomatch"}`;
    verdict.textContent = result.matched ? "MATCH: the expression is true" : "NO MATCH: the expression is false";
    explain.append(...explainRows(result.explain));
    $("disassembly").textContent = result.disassembly;
    return;
  }
  const v = result.verdict;
  verdict.className = `verdict ${v.action ?? "none"}`;
  verdict.textContent = v.action
    ? `${v.action.toUpperCase()} by rule ${v.rule}`
    : "no terminating rule matched";
  if (v.logged.length) verdict.textContent += ` — logged: ${v.logged.join(", ")}`;
  if (v.skipped.length) verdict.textContent += ` — skipped: ${v.skipped.join(", ")}`;
  const rows = result.rules.slice(0, 200).map((r) =>
    el("tr", {}, el("td", { textContent: r.id }), el("td", { textContent: r.action }),
      el("td", { textContent: r.enabled ? "enabled" : "disabled" }), el("td", {}, mark(r.matched))));
  table.append(el("table", {}, el("tr", {}, ...["rule", "action", "", "matches"].map((h) => el("th", { textContent: h }))), ...rows));
  for (const r of result.rules.slice(0, 50)) {
    if (!r.explain) continue;
    explain.append(el("div", { className: "explain-row", textContent: `rule ${r.id}:` }), ...explainRows(r.explain));
  }
  $("disassembly").textContent = result.rules
    .slice(0, 50)
    .filter((r) => r.disassembly)
    .map((r) => `; rule ${r.id}\n${r.disassembly}`)
    .join("\n");
}

function tag(answer, where) {
  return JSON.parse(answer).diagnostics.map((d) => ({ ...d, where }));
}

/** Recompiles what changed since the last call, then evaluates. */
function update() {
  const now = { lists: $("lists").value, rules: $("rules").value, mode: $("mode").value, request: $("request").value };
  const listsChanged = now.lists !== texts.lists;
  if (listsChanged) diagnostics.lists = tag(pg.set_lists(now.lists), "lists");
  if (listsChanged || now.rules !== texts.rules || now.mode !== texts.mode) {
    diagnostics.rules = tag(pg.set_rules(now.rules, now.mode), "rules");
  }
  if (now.request !== texts.request) diagnostics.request = tag(pg.set_request(now.request), "request");
  Object.assign(texts, now);
  renderDiagnostics();
  renderResult(JSON.parse(pg.evaluate()));
}

let timer;
function soon() {
  clearTimeout(timer);
  timer = setTimeout(update, 80);
}

/** Times `n` evaluations inside WebAssembly and `calls` calls from JS, in ns each. */
function time(engine, rounds, perRound, calls) {
  // Warm up first: the browser compiles WebAssembly quickly, then optimises
  // what runs often.
  for (let k = 0; k < 5; k++) engine.run(Math.ceil(rounds / 10));
  for (let k = 0; k < calls / 10; k++) engine.run(1);
  const t0 = performance.now();
  engine.run(rounds);
  const t1 = performance.now();
  for (let k = 0; k < calls; k++) engine.run(1);
  const t2 = performance.now();
  return {
    inWasmNs: ((t1 - t0) * 1e6) / (rounds * perRound),
    perCallNs: ((t2 - t1) * 1e6) / (calls * perRound),
  };
}

/** The measurements of issue #23: the seed rule and R1000 in this browser. */
export function bench() {
  const engine = new Playground();
  const out = {};
  check(engine.set_rules(SEED, "expression"));
  check(engine.set_request(REQUEST));
  const seed = time(engine, 200000, 1, 100000);
  out.seed_ns_in_wasm = seed.inWasmNs;
  out.seed_ns_per_js_call = seed.perCallNs;
  const t0 = performance.now();
  check(engine.set_rules(r1000RuleSet(), "json"));
  out.r1000_compile_ms = performance.now() - t0;
  check(engine.set_requests(JSON.stringify(r1000Requests())));
  const r1000 = time(engine, 20, 1000, 0);
  out.r1000_ns_per_request = r1000.inWasmNs;
  out.r1000_blocked_per_round = engine.run(1);
  engine.free();
  return out;
}

function check(answer) {
  const a = JSON.parse(answer);
  if (!a.ok) throw new Error(a.diagnostics.map((d) => d.rendered).join("\n"));
}

async function main() {
  await init();
  pg = new Playground();
  $("version").textContent = `engine ${version()}`;
  $("rules").value = DEFAULTS.json;
  $("request").value = REQUEST;
  $("mode").addEventListener("change", () => {
    const old = texts.mode;
    if ($("rules").value === DEFAULTS[old]) $("rules").value = DEFAULTS[$("mode").value];
    update();
  });
  for (const id of ["rules", "request", "lists"]) $(id).addEventListener("input", soon);
  $("bench").addEventListener("click", () => {
    $("bench-out").textContent = "measuring…";
    setTimeout(() => {
      const b = bench();
      $("bench-out").textContent =
        `seed rule: ${b.seed_ns_in_wasm.toFixed(1)} ns per evaluation inside WebAssembly, ` +
        `${b.seed_ns_per_js_call.toFixed(1)} ns per call from JavaScript\n` +
        `R1000 (1,000 rules): ${(b.r1000_ns_per_request / 1000).toFixed(2)} µs per request over 1,000 requests ` +
        `(compiled in ${b.r1000_compile_ms.toFixed(0)} ms)`;
    }, 10);
  });
  update();
  window.portcullis = { bench, update, playground: () => pg };
  document.body.dataset.ready = "1";
}

main().catch((e) => {
  $("verdict").className = "verdict error";
  $("verdict").textContent = `the engine did not load: ${e}`;
  document.body.dataset.ready = "error";
});
