// Drives a paused run through the official AG-UI client: the first run must end with an
// interrupt outcome (which the client's own verification accepts), and the second run
// answers it with `resume` — built by the client's `buildResumeArray` — approving or
// refusing every interrupt as asked.
//
//   node agui_approval.mjs URL MESSAGE approve|reject
//
// Prints one JSON report on stdout.
import { HttpAgent, buildResumeArray } from "@ag-ui/client";

const [url, text, decision] = process.argv.slice(2);
if (!url || !text || !["approve", "reject"].includes(decision)) {
  console.error("usage: node agui_approval.mjs URL MESSAGE approve|reject");
  process.exit(2);
}

const agent = new HttpAgent({ url, threadId: "thread-approval" });
const report = { interrupts: [], first: null, second: null, error: null };

async function run(params) {
  const events = [];
  const outcome = { events, finished: null, runError: null };
  await agent.runAgent(params, {
    onEvent: ({ event }) => {
      events.push(event);
    },
    onRunFinishedEvent: (params) => {
      outcome.finished = params.outcome;
    },
    onRunErrorEvent: ({ event }) => {
      outcome.runError = { message: event.message, code: event.code ?? null };
    },
  });
  return outcome;
}

try {
  agent.addMessage({ id: "user-0", role: "user", content: text });
  report.first = await run({ runId: "run-paused" });
  report.interrupts = agent.pendingInterrupts;
  const responses = {};
  for (const interrupt of agent.pendingInterrupts) {
    responses[interrupt.id] =
      decision === "approve"
        ? { status: "resolved", payload: { approve: true } }
        : { status: "resolved", payload: { approve: false, message: "Not from the client." } };
  }
  const resume = buildResumeArray(agent.pendingInterrupts, responses);
  report.second = await run({ runId: "run-resumed", resume });
} catch (error) {
  report.error = `${error?.name ?? "Error"}: ${error?.message ?? String(error)}`;
}
process.stdout.write(JSON.stringify(report) + "\n");
