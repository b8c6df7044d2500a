// A GraphQL subscription client outside Python, driven by tests/test_subscriptions_node.py.
//
// Usage: node subscribe.mjs <baseUrl> <apiKey> <stationCode> <since>
//
// Connects to <baseUrl>/graphql over graphql-transport-ws with graphql-ws (and the `ws` package:
// Node 20 has no global WebSocket), authenticating with `apiKey` in connection_init, and subscribes
// to `issueChanged(stationCodes: [<stationCode>], since: <since>)`. Prints one JSON object per line
// on stdout: {"connected": true} once the server has acknowledged the connection, then
// {"issueChanged": {...}} for the first change received, and exits 0. A connection the server
// closes (a rejected credential) prints {"closed": {"code", "reason"}} and exits 3; any other
// failure exits 1 (message on stderr); nothing within the deadline exits 2.

import { createClient } from "graphql-ws";
import WebSocket from "ws";

const DEADLINE_MS = 20_000;

const ISSUE_CHANGED = `
  subscription IssueChanged($stations: [String!], $since: Long) {
    issueChanged(stationCodes: $stations, since: $since) {
      id
      revision
      accountId
      stationCode
      type
      isOngoing
      isAcknowledged
      statusText
      events {
        type
      }
    }
  }
`;

function print(value) {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

function fail(message, code = 1) {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

async function main() {
  const [baseUrl, apiKey, stationCode, sinceText] = process.argv.slice(2);
  if (!baseUrl || !apiKey || !stationCode || sinceText === undefined) {
    fail("usage: node subscribe.mjs <baseUrl> <apiKey> <stationCode> <since>");
  }
  const url = new URL("/graphql", baseUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";

  const client = createClient({
    url: url.toString(),
    webSocketImpl: WebSocket,
    connectionParams: { apiKey },
    retryAttempts: 0,
    on: {
      connected: () => print({ connected: true }),
    },
  });

  const subscription = client.iterate({
    query: ISSUE_CHANGED,
    variables: { stations: [stationCode], since: Number.parseInt(sinceText, 10) },
  });
  try {
    for await (const result of subscription) {
      if (result.errors) {
        fail(`subscription error: ${JSON.stringify(result.errors)}`);
      }
      print(result.data);
      break; // leaving the loop completes the subscription
    }
  } catch (error) {
    // graphql-ws rejects with the CloseEvent when the server closes the socket.
    if (typeof error?.code === "number") {
      print({ closed: { code: error.code, reason: error.reason ?? "" } });
      await client.dispose();
      process.exit(3);
    }
    throw error;
  }
  await client.dispose();
  process.exit(0);
}

setTimeout(() => fail(`no change within ${DEADLINE_MS} ms`, 2), DEADLINE_MS).unref();
main().catch((error) => fail(error?.stack ?? String(error)));
