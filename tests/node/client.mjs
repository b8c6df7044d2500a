// A GraphQL client outside Python, driven by tests/test_graphql_node.py.
//
// Usage: node client.mjs <baseUrl> <apiKey> <issueId>
//
// Against the gateway at <baseUrl>, authenticated by <apiKey> (X-API-KEY): queries `me` and
// `issue(id:)`, acknowledges the issue with `acknowledgeIssue`, then acknowledges it a second time,
// which must fail with a typed error. Prints one JSON object on stdout; exits 1 on any unexpected
// failure (message on stderr), 2 if it takes longer than the deadline.

import { parse } from "graphql";
import { ClientError, GraphQLClient } from "graphql-request";

const DEADLINE_MS = 20_000;
const OPERATOR = "ND";

const ME_AND_ISSUE = parse(`
  query MeAndIssue($id: Int!) {
    me {
      accountId
      role
    }
    issue(id: $id) {
      id
      stationCode
      isOngoing
      isAcknowledged
    }
  }
`);

const ACKNOWLEDGE = parse(`
  mutation Acknowledge($id: Int!, $operator: String) {
    acknowledgeIssue(issueId: $id, operator: $operator) {
      id
      isAcknowledged
      statusText
      events {
        type
        operatorInitials
      }
    }
  }
`);

function fail(message, code = 1) {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

async function main() {
  const [baseUrl, apiKey, issueIdText] = process.argv.slice(2);
  if (!baseUrl || !apiKey || !issueIdText) {
    fail("usage: node client.mjs <baseUrl> <apiKey> <issueId>");
  }
  const issueId = Number.parseInt(issueIdText, 10);
  const client = new GraphQLClient(new URL("/graphql", baseUrl).toString(), {
    headers: { "X-API-KEY": apiKey },
  });

  const read = await client.request(ME_AND_ISSUE, { id: issueId });
  const acknowledged = await client.request(ACKNOWLEDGE, { id: issueId, operator: OPERATOR });

  let secondAcknowledge = null;
  try {
    await client.request(ACKNOWLEDGE, { id: issueId, operator: OPERATOR });
    secondAcknowledge = { error: null };
  } catch (error) {
    if (!(error instanceof ClientError)) {
      throw error;
    }
    const [first] = error.response.errors ?? [];
    secondAcknowledge = {
      status: error.response.status,
      error: first ? { message: first.message, code: first.extensions?.code ?? null } : null,
      data: error.response.data ?? null,
    };
  }

  process.stdout.write(
    `${JSON.stringify({
      me: read.me,
      issue: read.issue,
      acknowledgeIssue: acknowledged.acknowledgeIssue,
      secondAcknowledge,
    })}\n`,
  );
}

setTimeout(() => fail(`no answer within ${DEADLINE_MS} ms`, 2), DEADLINE_MS).unref();
main().catch((error) => fail(error?.stack ?? String(error)));
