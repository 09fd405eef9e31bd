// Drives the playground in headless Chromium: serves playground/ on
// loopback, types rules and requests as a person would, checks the
// diagnostics, verdicts and explain rows the page shows, keeps a
// screenshot, and prints the speed measurements.
//
//   node playground/tests/e2e.mjs SCREENSHOT.png
//
// CHROMIUM overrides the browser (default /usr/bin/chromium). Exits 0 when
// every check passed; the last line is "playground: N passed, M failed".
import { chromium } from "playwright-core";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const screenshot = process.argv[2] ?? "playground.png";
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm", ".json": "application/json" };

const server = createServer(async (req, res) => {
  let path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
  if (path.endsWith("/")) path += "index.html";
  try {
    const body = await readFile(join(root, path));
    res.writeHead(200, { "content-type": TYPES[extname(path)] ?? "application/octet-stream" });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const url = `http://127.0.0.1:${server.address().port}/`;

let passed = 0, failed = 0;
function check(cond, what) {
  if (cond) passed++;
  else { failed++; console.error(`FAILED: ${what}`); }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForSelector("body[data-ready]", { timeout: 30000 });
  if (await page.getAttribute("body", "data-ready") !== "1") {
    throw new Error(`the engine did not load: ${await page.locator("#verdict").innerText()} ${errors.join("; ")}`);
  }
  check(true, "the engine loaded");
  const text = (sel) => page.locator(sel).innerText();
  const settle = () => page.waitForTimeout(250);

  // The default rule set and request: blocked by mtls-required, log-api logged.
  check((await text("#verdict")).includes("BLOCK by rule mtls-required"), "default verdict");
  check((await text("#verdict")).includes("logged: log-api"), "default logged rule");
  check((await text("#rules-table")).includes("challenge-bots"), "per-rule table");

  // A typo in a rule: the diagnostic names the rule, with carets and a suggestion.
  const rules = page.locator("#rules");
  const original = await rules.inputValue();
  await rules.fill(original.replace("or cf.tls_client_auth.cert_revoked", "or cf.tls_client_auth.cert_revokd"));
  await settle();
  const diag = await text("#diagnostics");
  check(diag.includes("rule mtls-required"), `diagnostic names the rule: ${diag}`);
  check(diag.includes("did you mean `cf.tls_client_auth.cert_revoked`?"), "diagnostic suggests the field");
  check(/\^{20,}/.test(diag), "carets under the field");
  check((await text("#verdict")).includes("fix the errors"), "no verdict while the rules are wrong");
  await rules.fill(original);
  await settle();
  check(await page.locator("#diagnostics").isHidden(), "diagnostics gone once fixed");

  // The request as a person types it: a verified certificate is let through.
  const request = page.locator("#request");
  const req = JSON.parse(await request.inputValue());
  req.client_cert = { presented: true, verified: true };
  await request.fill(JSON.stringify(req, null, 2));
  await settle();
  check((await text("#verdict")).includes("no terminating rule matched"), "verified certificate passes");
  await request.fill("{\"uri\": \"/\", \"headrs\": {}}");
  await settle();
  check((await text("#diagnostics")).includes("did you mean `headers`?"), "request key diagnostic");

  // One expression, typed key by key, with its explain tree.
  await page.selectOption("#mode", "expression");
  await rules.fill("");
  await rules.pressSequentially('http.host == "a.com" and not ssl', { delay: 5 });
  await request.fill(JSON.stringify({ uri: "/x", headers: { Host: "A.com" } }));
  await settle();
  check((await text("#verdict")).includes("MATCH: the expression is true"), "expression matches");
  const explain = await text("#explain");
  check(explain.includes('✓ http.host == "a.com"') && explain.includes("✓ not ssl") && explain.includes("✗ ssl"), `explain rows: ${explain}`);
  check((await text("#disassembly")).includes("http.host"), "program listing");
  await rules.fill('http.host == "a.com" AND ssl');
  await settle();
  check((await text("#diagnostics")).includes("--> 1:22"), "line:column in the diagnostic");

  // A named list, declared by typing it.
  await page.locator("#lists").fill('{"office": ["203.0.113.0/24"]}');
  await rules.fill("ip.src in $office");
  await request.fill('{"client_ip": "203.0.113.9"}');
  await settle();
  check((await text("#verdict")).includes("MATCH: the expression is true"), "a typed list is read");
  await page.locator("#lists").fill("");
  await settle();
  check((await text("#diagnostics")).includes("$office"), "an undeclared list is a diagnostic");

  // Back to the rule set for the screenshot.
  await page.selectOption("#mode", "json");
  await rules.fill(original);
  await request.fill(JSON.stringify({ uri: "/v1/accounts", headers: { Host: "api.orangeclouded.com" }, client_ip: "203.0.113.7" }, null, 2));
  await settle();
  check((await text("#verdict")).includes("BLOCK by rule mtls-required"), "blocked again");
  await page.screenshot({ path: screenshot, fullPage: true });

  // Speed: the seed rule and R1000, measured in the page.
  const b = await page.evaluate(() => window.portcullis.bench());
  check(b.r1000_blocked_per_round > 0 && b.r1000_blocked_per_round < 1000, `R1000 blocks some requests (${b.r1000_blocked_per_round})`);
  console.log(`WASM seed_ns_in_wasm=${b.seed_ns_in_wasm.toFixed(1)} seed_ns_per_js_call=${b.seed_ns_per_js_call.toFixed(1)} ` +
    `r1000_ns_per_request=${b.r1000_ns_per_request.toFixed(0)} r1000_compile_ms=${b.r1000_compile_ms.toFixed(1)} ` +
    `r1000_blocked=${b.r1000_blocked_per_round}`);
  check(errors.length === 0, `no page errors: ${errors.join("; ")}`);
} finally {
  await browser.close();
  server.close();
}
console.log(`playground: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
