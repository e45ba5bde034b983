// The console end to end, in headless Chromium (Debian's chromium, driven by playwright-core): a person creates a
// simulated user in the console, a bot (this test, over plain HTTP with a client-credentials token) calls that
// user, the call appears and changes state live, the person opens a notification's payload and hangs up from the
// console, and the bot receives the terminated notification. Screenshots of the main views go to docs/screenshots.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BINARY = process.env.SWITCHBOARD_BIN || join(ROOT, "target/debug/switchboard");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SCREENSHOTS = join(ROOT, "docs/screenshots");
const DEV_TENANT = "5b1ed0c5-0000-4000-8000-000000000001";
const DEV_APP = "5b1ed0c5-0000-4000-8000-0000000000a1";
const DEV_SECRET = "switchboard-dev-secret-do-not-use-in-production";
// Generous: nothing is timed against it, it only bounds a failure.
const PATIENCE = 20_000;

let server, base, browser, bot;
const dataDirs = [];

/** `switchboard serve` on a free loopback port, with a data directory of its own. */
function startServer(...args) {
  const dataDir = mkdtempSync(join(tmpdir(), "switchboard-console-"));
  dataDirs.push(dataDir);
  const child = spawn(BINARY, ["serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => { stderr += chunk; });
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`switchboard did not start: ${stderr}`)), PATIENCE);
    let banner = "";
    child.stdout.on("data", (chunk) => {
      banner += chunk;
      const match = banner.match(/Switchboard listening on (\S+)/);
      if (match) {
        clearTimeout(timer);
        resolvePromise({ child, base: match[1] });
      }
    });
    child.on("exit", (code) => reject(new Error(`switchboard exited (${code}): ${stderr}`)));
  });
}

/** The bot's webhook: collects every commsNotification POSTed to it. */
function startBot() {
  const received = [];
  const waiting = [];
  const http = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => { body += chunk; });
    request.on("end", () => {
      for (const notification of JSON.parse(body).value || []) received.push(notification);
      response.writeHead(202).end();
      for (const wait of waiting.splice(0)) wait();
    });
  });
  return new Promise((resolvePromise) => http.listen(0, "127.0.0.1", () => resolvePromise({
    http,
    url: `http://127.0.0.1:${http.address().port}/callback`,
    received,
    /** Waits for a notification matching `predicate`. */
    async until(predicate, what) {
      const deadline = Date.now() + PATIENCE;
      for (;;) {
        const found = received.find(predicate);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`the bot never received ${what}: ${JSON.stringify(received)}`);
        await new Promise((wake) => { waiting.push(wake); setTimeout(wake, 1000); });
      }
    },
  })));
}

/** What a bot does: a client-credentials token, then Graph. */
async function graph(method, path, body) {
  if (!graph.token) {
    const form = new URLSearchParams({ grant_type: "client_credentials", client_id: DEV_APP, client_secret: DEV_SECRET,
      scope: "https://graph.microsoft.com/.default" });
    const response = await fetch(`${base}/${DEV_TENANT}/oauth2/v2.0/token`, { method: "POST", body: form });
    graph.token = (await response.json()).access_token;
  }
  const response = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${graph.token}`, "content-type": "application/json" },
    body: body && JSON.stringify(body) });
  return { status: response.status, body: await response.json().catch(() => null) };
}

before(async () => {
  ({ child: server, base } = await startServer());
  bot = await startBot();
  mkdirSync(SCREENSHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
  bot?.http.close();
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

test("a call placed by a bot to a user made in the console is watched live, inspected and hung up from the console", async () => {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const pageErrors = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  await page.goto(`${base}/#/world`);
  await page.getByRole("status").filter({ hasText: "live" }).waitFor();

  // A person creates a simulated user who rings until answered.
  await page.getByLabel("Name", { exact: true }).fill("Alice Console");
  await page.locator("#user-reaction").selectOption("ring");
  await page.getByRole("button", { name: "Add user" }).click();
  const aliceRow = page.locator("tr", { hasText: "Alice Console" });
  await aliceRow.waitFor();
  const alice = await aliceRow.getAttribute("data-user");
  assert.match(alice, /^[0-9a-f-]{36}$/);
  await page.screenshot({ path: join(SCREENSHOTS, "world.png"), fullPage: true });

  // The console watches the calls list; the bot calls Alice.
  await page.getByRole("link", { name: "Calls", exact: true }).click();
  await page.getByRole("heading", { name: "Calls" }).waitFor();
  const created = await graph("POST", "/v1.0/communications/calls", {
    "@odata.type": "#microsoft.graph.call",
    callbackUri: bot.url,
    targets: [{ "@odata.type": "#microsoft.graph.invitationParticipantInfo", identity: { user: { id: alice, displayName: "Alice Console" } } }],
    requestedModalities: ["audio"],
    mediaConfig: { "@odata.type": "#microsoft.graph.serviceHostedMediaConfig" },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const callId = created.body.id;

  // It appears without a reload, ringing Alice.
  const callRow = page.locator(`tr[data-call="${callId}"]`);
  await callRow.waitFor({ timeout: PATIENCE });
  await callRow.getByText("establishing").waitFor();
  await callRow.getByRole("link").click();
  await page.getByRole("heading", { name: /^Call / }).waitFor();
  const timeline = page.locator("ol.timeline");
  await timeline.locator("li.request", { hasText: "POST /v1.0/communications/calls" }).waitFor();

  // Alice answers from the console; the call turns established live.
  await page.locator("tr", { hasText: "Alice Console" }).getByRole("button", { name: "Answer" }).click();
  await page.locator("#call-title").getByText("established").waitFor({ timeout: PATIENCE });
  await bot.until((n) => n.resourceData?.state === "established", "established");

  // The established notification's payload, as the bot got it.
  const notification = timeline.locator("li.notification", { hasText: "(established)" }).first();
  await notification.waitFor({ timeout: PATIENCE });
  await notification.getByText("Payload").click();
  const payload = JSON.parse(await notification.locator("pre").first().innerText());
  assert.equal(payload.value[0].resourceData.state, "established");
  assert.equal(payload.value[0].resourceUrl, `/communications/calls/${callId}`);
  await page.screenshot({ path: join(SCREENSHOTS, "call.png"), fullPage: true });

  // Alice speaks; what the bot heard plays with its waveform.
  await page.locator("tr", { hasText: "Alice Console" }).getByRole("button", { name: "Say" }).click();
  await page.locator("tr", { hasText: "The bot" }).getByRole("button", { name: "Listen" }).click();
  await page.getByRole("img", { name: "Waveform of What the bot heard" }).waitFor();
  assert.match(await page.locator(".player strong").innerText(), /What the bot heard \(\d+\.\d s\)/);

  // The search narrows the timeline to what matches.
  await page.getByLabel("Search").fill("established");
  await timeline.locator("li.request").first().waitFor({ state: "detached" });
  await page.getByLabel("Search").fill("");

  // Alice hangs up from the console; the bot is told the call is over.
  await page.locator("tr", { hasText: "Alice Console" }).getByRole("button", { name: "Hang up" }).click();
  await page.locator("#call-title").getByText("terminated").waitFor({ timeout: PATIENCE });
  const terminated = await bot.until((n) => n.resourceData?.state === "terminated", "terminated");
  assert.equal(terminated.changeType, "deleted");
  assert.equal(terminated.resourceUrl, `/communications/calls/${callId}`);

  // The same console at a phone's width.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(SCREENSHOTS, "call-phone.png"), fullPage: true });
  assert.deepEqual(pageErrors, []);
  await context.close();
});

test("apps: registering an app shows its secret once and the values to paste into a bot", async () => {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${base}/#/apps`);
  await page.getByRole("heading", { name: "Apps", exact: true }).waitFor();
  await page.getByLabel("Name", { exact: true }).fill("IVR bot");
  await page.getByLabel("Calling webhook").fill("https://ivr.example.com/api/calling");
  await page.getByLabel("Calls.JoinGroupCall.All", { exact: true }).check();
  await page.getByRole("button", { name: "Register app" }).click();
  const secret = page.locator("#new-secret");
  await secret.waitFor();
  assert.ok((await secret.innerText()).length >= 20);
  const card = page.getByRole("region", { name: "IVR bot" });
  const clientId = (await card.locator("dd").first().innerText()).trim();
  await card.getByText(`${base}/${DEV_TENANT}/oauth2/v2.0/token`).waitFor();
  await page.screenshot({ path: join(SCREENSHOTS, "apps.png"), fullPage: true });

  // The secret works for the token endpoint, the way the bot will use it.
  const form = new URLSearchParams({ grant_type: "client_credentials", client_id: clientId, client_secret: await secret.innerText(),
    scope: "https://graph.microsoft.com/.default" });
  const token = await fetch(`${base}/${DEV_TENANT}/oauth2/v2.0/token`, { method: "POST", body: form });
  assert.equal(token.status, 200);

  // Shown once: after a reload only its hint remains.
  await page.reload();
  await page.getByRole("heading", { name: "Apps", exact: true }).waitFor();
  assert.equal(await page.locator("#new-secret").count(), 0);
  await context.close();
});

test("a simulated user calls the bot from the console, and the bot's incoming call shows live", async () => {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${base}/#/world`);
  await page.getByLabel("Name", { exact: true }).fill("Bob Caller");
  await page.getByRole("button", { name: "Add user" }).click();
  const bobRow = page.locator("tr", { hasText: "Bob Caller" });
  await bobRow.getByRole("button", { name: "Call the app" }).click();
  await page.getByRole("heading", { name: /^Call / }).waitFor();
  await page.locator("#call-title").getByText("incoming").waitFor();
  const callId = (await page.locator("dl.kv dd").first().innerText()).trim();

  // The bot answers over Graph; the console follows.
  const answered = await graph("POST", `/v1.0/communications/calls/${callId}/answer`, {
    callbackUri: bot.url, acceptedModalities: ["audio"],
    mediaConfig: { "@odata.type": "#microsoft.graph.serviceHostedMediaConfig" },
  });
  assert.equal(answered.status, 202, JSON.stringify(answered.body));
  await page.locator("#call-title").getByText("established").waitFor({ timeout: PATIENCE });
  await page.locator("ol.timeline li.request", { hasText: `POST /v1.0/communications/calls/${callId}/answer` }).waitFor();
  await context.close();
});

test("outside dev mode the console asks for the admin key before showing anything", async () => {
  const { child, base: productionBase } = await startServer("--mode", "production", "--admin-key", "console-test-key");
  try {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${productionBase}/#/calls`);
    const dialog = page.getByRole("dialog", { name: "Admin key" });
    await dialog.waitFor();
    await dialog.getByLabel("Admin key").fill("console-test-key");
    await dialog.getByRole("button", { name: "Use this key" }).click();
    await page.getByRole("heading", { name: "Calls" }).waitFor();
    await page.getByRole("status").filter({ hasText: "live" }).waitFor();
    await context.close();
  } finally {
    child.kill("SIGTERM");
  }
});
