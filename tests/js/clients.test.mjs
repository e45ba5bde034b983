// Microsoft's JavaScript Graph clients with @azure/identity against a real Switchboard over https, set up as
// README.md "From JavaScript" says: the authority and instance discovery, the allowed host, the CA. The legacy
// client (@microsoft/microsoft-graph-client) and the Kiota-based preview SDK (@microsoft/msgraph-sdk, through its
// request adapter and models) each place, read and end a call. Each bot runs in a node process of its own, since
// NODE_EXTRA_CA_CERTS is read at start.
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

// What every bot below shares: its credential, its webhook, a simulated user who answers, and the call to her.
const shared = String.raw`
import http from "node:http";
import { ClientSecretCredential } from "@azure/identity";

const BASE = process.env.BASE;
const credential = new ClientSecretCredential(
  "5b1ed0c5-0000-4000-8000-000000000001", "5b1ed0c5-0000-4000-8000-0000000000a1",
  "switchboard-dev-secret-do-not-use-in-production",
  { authorityHost: BASE, disableInstanceDiscovery: true });

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
`;

const legacyBot = String.raw`
import { Client } from "@microsoft/microsoft-graph-client";
import { TokenCredentialAuthenticationProvider } from "@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js";
${shared}
const authProvider = new TokenCredentialAuthenticationProvider(credential, { scopes: ["https://graph.microsoft.com/.default"] });
const client = (customHosts) => Client.initWithMiddleware({ authProvider, baseUrl: BASE, customHosts });
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

// The Kiota-based preview SDK publishes no communications package (`@microsoft/msgraph-sdk-communications` is not
// on npm at preview.90), so a bot sends its requests through the SDK's request adapter, with the SDK's own models.
const kiotaBot = String.raw`
import { GraphAzureIdentityAuthenticationProvider } from "@microsoft/msgraph-sdk-core";
import { HttpMethod, RequestInformation } from "@microsoft/kiota-abstractions";
import { GraphRequestAdapter } from "@microsoft/msgraph-sdk";
import { createCallFromDiscriminatorValue, serializeCall } from "@microsoft/msgraph-sdk/models/index.js";
import { createODataErrorFromDiscriminatorValue } from "@microsoft/msgraph-sdk/models/oDataErrors/index.js";
${shared}
const adapter = (allowedHosts) => {
  // The Graph SDK's provider: it sends tokens only to Graph's own hosts unless told otherwise.
  const auth = new GraphAzureIdentityAuthenticationProvider(credential, ["https://graph.microsoft.com/.default"], undefined, allowedHosts);
  const graph = new GraphRequestAdapter(auth);
  graph.baseUrl = BASE + "/v1.0";
  return graph;
};
const errors = { XXX: createODataErrorFromDiscriminatorValue };
const calls = "{+baseurl}/communications/calls";
const place = (graph) => {
  const request = new RequestInformation(HttpMethod.POST, calls);
  request.setContentFromParsable(graph, "application/json", {
    odataType: "#microsoft.graph.call",
    callbackUri,
    targets: [{ odataType: "#microsoft.graph.invitationParticipantInfo", identity: { odataType: "#microsoft.graph.identitySet", user: { odataType: "#microsoft.graph.identity", id: alice.id } } }],
    requestedModalities: ["audio"],
    mediaConfig: { odataType: "#microsoft.graph.serviceHostedMediaConfig" },
  }, serializeCall);
  return graph.send(request, createCallFromDiscriminatorValue, errors);
};
const oneCall = (method, id) => new RequestInformation(method, calls + "/{call%2Did}", { "call%2Did": id });
const result = {};
try {
  await place(adapter(undefined));
  result.withoutHost = "accepted";
} catch (error) {
  result.withoutHost = { status: error.responseStatusCode, message: error.errorEscaped?.message };
}
const graph = adapter(new Set(["127.0.0.1"]));
const created = await place(graph);
await until(() => notifications.some((n) => n.resourceData?.mediaState?.audio === "active"));
result.created = { id: created.id, state: created.state };
const fetched = await graph.send(oneCall(HttpMethod.GET, created.id), createCallFromDiscriminatorValue, errors);
result.fetched = { state: fetched.state, audio: fetched.mediaState?.audio, chain: fetched.callChainId };
await graph.sendNoResponseContent(oneCall(HttpMethod.DELETE, created.id), errors);
await until(() => notifications.some((n) => n.changeType === "deleted"));
try {
  await graph.send(oneCall(HttpMethod.GET, created.id), createCallFromDiscriminatorValue, errors);
} catch (error) {
  result.gone = { status: error.responseStatusCode, code: error.errorEscaped?.code };
}
result.notifications = notifications.map((n) => ({ changeType: n.changeType, resource: n.resource, state: n.resourceData?.state }));
console.log(JSON.stringify(result));
webhook.close();
`;

/** Runs `script` as a bot in a node process of its own against a fresh server; resolves with what it printed last. */
async function runBot(script) {
  const dataDir = mkdtempSync(join(tmpdir(), "switchboard-js-"));
  const { server, listening } = startServer(dataDir);
  try {
    const base = await listening;
    assert.match(base, /^https:/, "MSAL insists on https: --tls");
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
      cwd: here,
      env: { ...process.env, BASE: base, NODE_EXTRA_CA_CERTS: join(dataDir, "tls", "ca.pem") },
      timeout: 60_000,
    });
    return JSON.parse(stdout.trim().split("\n").pop());
  } finally {
    server.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** What both clients must have seen: the 401 naming the missing host, the call's life, live Graph's `resource`. */
function assertPlacedAndEnded(result) {
  // Without the host allowed, the client sends no token at all; the 401 says why.
  assert.equal(result.withoutHost.status, 401, JSON.stringify(result.withoutHost));
  assert.match(result.withoutHost.message, /^Access token is empty\. A Graph SDK sends no token/);
  assert.equal(result.created.state, "establishing");
  const states = result.notifications.map((n) => `${n.changeType} ${n.state}`);
  assert.deepEqual(states.slice(0, 2), ["updated establishing", "updated established"]);
  assert.equal(states.at(-1), "deleted terminated");
  assert.ok(
    result.notifications.every((n) => n.resource === `/app/calls/${result.created.id}`),
    "live Graph's resource on every notification",
  );
}

test("the JavaScript Graph client places, reads and ends a call as the README says", async () => {
  const result = await runBot(legacyBot);
  assertPlacedAndEnded(result);
  assert.equal(result.fetched, "established");
});

test("the Kiota-based preview SDK's adapter and models place, read and end a call", async () => {
  const result = await runBot(kiotaBot);
  assertPlacedAndEnded(result);
  assert.deepEqual(
    [result.fetched.state, result.fetched.audio],
    ["established", "active"],
    "the SDK's models read the call",
  );
  assert.match(result.fetched.chain, /^[0-9a-f-]{36}$/);
  assert.deepEqual(result.gone, { status: 404, code: "8522" }, "the ended call, as Graph answers");
});
