// Drives POST /ag-ui with the official AG-UI client, whose pipeline verifies every event
// (order, open/closed messages, tool calls and steps) and rejects the run on a violation.
//
//   node agui_client.mjs URL MESSAGE [MESSAGE...]
//
// Sends each MESSAGE as one run on one thread (so later runs carry the earlier ones as
// history, exactly as the client builds it) and prints one JSON report on stdout.
import { HttpAgent } from "@ag-ui/client";

const [url, ...texts] = process.argv.slice(2);
if (!url || texts.length === 0) {
  console.error("usage: node agui_client.mjs URL MESSAGE [MESSAGE...]");
  process.exit(2);
}

const agent = new HttpAgent({ url, threadId: "thread-node" });
const runs = [];

for (const [i, text] of texts.entries()) {
  agent.addMessage({ id: `user-${i}`, role: "user", content: text });
  const events = [];
  const report = { text, events, error: null, runError: null, result: null };
  try {
    const { result, newMessages } = await agent.runAgent(
      { runId: `run-node-${i}` },
      {
        onEvent: ({ event }) => {
          events.push(event);
        },
        onRunErrorEvent: ({ event }) => {
          report.runError = { message: event.message, code: event.code ?? null };
        },
      },
    );
    report.result = result ?? null;
    report.newMessages = newMessages;
  } catch (error) {
    // A verification failure (or any client-side error) rejects runAgent.
    report.error = `${error?.name ?? "Error"}: ${error?.message ?? String(error)}`;
  }
  runs.push(report);
}

process.stdout.write(JSON.stringify({ runs, messages: agent.messages }) + "\n");
