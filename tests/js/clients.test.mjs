// Microsoft's JavaScript Graph client (@microsoft/microsoft-graph-client) with @azure/identity against a real
// Switchboard over https, set up as README.md "From JavaScript" says: the authority and instance discovery, the
// allowed host, the CA. The bot runs in a node process of its own, since NODE_EXTRA_CA_CERTS is read at start.
//
//   SWITCHBOARD_BIN=target/debug/switchboard node --test tests/js/clients.test.mjs

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
const binary = process.env.SWITCHBOARD_BIN ?? join(here, "../../target/debug/switchboard");

/** Starts `switchboard serve --tls` on a fresh data directory; resolves with its base URL. */
function startServer(dataDir) {
  const server = spawn(binary, ["serve", "--tls", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--log", "warn"], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, SWITCHBOARD_MODE: "dev" },
  });
  const listening = new Promise((resolve, reject) => {
    server.on("exit", (code) => reject(new Error(`switchboard exited with ${code} before it listened`)));
    createInterface({ input: server.stdout }).on("line", (line) => {
      const match = line.match(/^Switchboard listening on (\S+)/);
      if (match) resolve(match[1]);
    });
  });
  return { server, listening };
}

const bot = String.raw`
import http from "node:http";
import { ClientSecretCredential } from "@azure/identity";
import { Client } from "@microsoft/microsoft-graph-client";
import { TokenCredentialAuthenticationProvider } from "@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js";

const BASE = process.env.BASE;
const credential = new ClientSecretCredential(
  "5b1ed0c5-0000-4000-8000-000000000001", "5b1ed0c5-0000-4000-8000-0000000000a1",
  "switchboard-dev-secret-do-not-use-in-production",
  { authorityHost: BASE, disableInstanceDiscovery: true });
const authProvider = new TokenCredentialAuthenticationProvider(credential, { scopes: ["https://graph.microsoft.com/.default"] });
const client = (customHosts) => Client.initWithMiddleware({ authProvider, baseUrl: BASE, customHosts });

// The bot's webhook: the notifications of its call, as they come.
const notifications = [];
let notified = () => {};
const webhook = http.createServer((request, response) => {
  let body = "";
  request.on("data", (chunk) => (body += chunk));
  request.on("end", () => {
    notifications.push(...JSON.parse(body).value);
    response.writeHead(202).end();
    notified();
  });
});
await new Promise((resolve) => webhook.listen(0, "127.0.0.1", resolve));
const callbackUri = "http://127.0.0.1:" + webhook.address().port + "/callback";
const until = (predicate) =>
  new Promise((resolve) => {
    const check = () => (predicate() ? resolve() : (notified = check));
    check();
  });

const alice = await (await fetch(BASE + "/_sim/users", {
  method: "POST", headers: { "content-type": "application/json" },
  body: JSON.stringify({ displayName: "Alice", behaviour: { response: { kind: "answer", afterMs: 0 } } }),
})).json();
const call = {
  "@odata.type": "#microsoft.graph.call",
  callbackUri,
  targets: [{ "@odata.type": "#microsoft.graph.invitationParticipantInfo", identity: { user: { id: alice.id } } }],
  requestedModalities: ["audio"],
  mediaConfig: { "@odata.type": "#microsoft.graph.serviceHostedMediaConfig" },
};
const result = {};
try {
  await client(undefined).api("/communications/calls").version("v1.0").post(call);
  result.withoutHost = "accepted";
} catch (error) {
  result.withoutHost = { status: error.statusCode, message: error.message };
}
const graph = client(new Set(["127.0.0.1"]));
const created = await graph.api("/communications/calls").version("v1.0").post(call);
await until(() => notifications.some((n) => n.resourceData?.mediaState?.audio === "active"));
result.created = { id: created.id, state: created.state };
result.fetched = (await graph.api("/communications/calls/" + created.id).version("v1.0").get()).state;
await graph.api("/communications/calls/" + created.id).version("v1.0").delete();
await until(() => notifications.some((n) => n.changeType === "deleted"));
result.notifications = notifications.map((n) => ({ changeType: n.changeType, resource: n.resource, state: n.resourceData?.state }));
console.log(JSON.stringify(result));
webhook.close();
`;

test("the JavaScript Graph client places, reads and ends a call as the README says", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "switchboard-js-"));
  const { server, listening } = startServer(dataDir);
  try {
    const base = await listening;
    assert.match(base, /^https:/, "MSAL insists on https: --tls");
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", bot], {
      cwd: here,
      env: { ...process.env, BASE: base, NODE_EXTRA_CA_CERTS: join(dataDir, "tls", "ca.pem") },
      timeout: 60_000,
    });
    const result = JSON.parse(stdout.trim().split("\n").pop());
    // Without the host allowed, the client sends no token at all; the 401 says why.
    assert.equal(result.withoutHost.status, 401, JSON.stringify(result.withoutHost));
    assert.match(result.withoutHost.message, /^Access token is empty\. A Graph SDK sends no token/);
    assert.equal(result.created.state, "establishing");
    assert.equal(result.fetched, "established");
    const states = result.notifications.map((n) => `${n.changeType} ${n.state}`);
    assert.deepEqual(states.slice(0, 2), ["updated establishing", "updated established"]);
    assert.equal(states.at(-1), "deleted terminated");
    assert.ok(
      result.notifications.every((n) => n.resource === `/app/calls/${result.created.id}`),
      "live Graph's resource on every notification",
    );
  } finally {
    server.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
