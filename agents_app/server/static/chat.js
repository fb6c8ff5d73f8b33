// The chat page: the JSON event protocol (v1, revision 2) over the WebSocket at `/` of the
// same server. A dropped connection does not lose the answer: after reconnecting the page
// rejoins the run it was showing (run.join after the last seq it drew) and draws nothing twice.
// Plain browser JavaScript, no build step and nothing fetched from elsewhere, so it works offline.
// Everything the server sends is rendered as text (textContent), never as HTML.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const ui = {
    transcript: $("transcript"),
    hint: $("hint"),
    form: $("composer"),
    input: $("message"),
    agent: $("agent"),
    multitask: $("multitask"),
    send: $("send"),
    cancel: $("cancel"),
    status: $("status"),
    speaking: $("speaking"),
    model: $("model"),
  };

  const RECONNECT_MIN_MS = 500;
  const CANCELLED = {
    superseded: "Interrupted by your next message.",
    rolled_back: "Taken back: your next message replaces this turn.",
  };
  const STAGES = {
    input: "your message",
    output: "the answer",
    tool_input: "a tool call",
    tool_output: "a tool result",
  };
  const TERMINAL = new Set(["run.completed", "run.failed", "run.cancelled", "run.interrupted"]);
  const RECONNECT_MAX_MS = 10000;

  const state = {
    socket: null,
    connected: false,
    attempt: 0, // reconnect attempts since the last successful open
    retryTimer: null,
    countdownTimer: null,
    conversationId: null, // kept across reconnects so the conversation resumes
    agents: new Map(), // id → {name, description}
    run: null, // the run in progress: {id, lastSeq, el, messages: Map, tools: Map}
    awaitingRun: false, // a message was sent and its run.started has not arrived yet
    rejoin: null, // after a reconnect: the run.join to send once the server greets us
    approvals: new Map(), // call_id → {runId, card, decision}: calls waiting for a yes or no
    endedRuns: new Set(), // runs already drawn to their end: a replay of one is ignored
    unplaced: [], // bubbles of messages sent during an answer, not yet queued nor answered
  };

  // -- small DOM helpers ------------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function agentName(id) {
    return state.agents.get(id)?.name || id;
  }

  function badge(agentId) {
    const node = el("span", "badge", agentName(agentId));
    node.dataset.agent = agentId;
    node.title = agentId;
    return node;
  }

  function stickToBottom(fn) {
    const t = ui.transcript;
    const atBottom = t.scrollHeight - t.scrollTop - t.clientHeight < 40;
    fn();
    if (atBottom) t.scrollTop = t.scrollHeight;
  }

  function append(node, parent = ui.transcript) {
    stickToBottom(() => parent.appendChild(node));
    return node;
  }

  function setSpeaking(agentId) {
    ui.speaking.textContent = agentId ? agentName(agentId) : "no agent yet";
    ui.speaking.classList.toggle("idle", !agentId);
    ui.speaking.dataset.agent = agentId || "";
  }

  function setStatus(kind, text) {
    ui.status.className = `status ${kind}`;
    ui.status.textContent = text;
  }

  function notice(kind, text) {
    return append(el("div", `notice ${kind}`, text));
  }

  function updateControls() {
    const running = state.run !== null || state.awaitingRun;
    ui.input.disabled = !state.connected;
    // Send stays on during an answer: a new message waits its turn, interrupts it, takes it
    // back or is refused (busy), as the "while answering" choice or the server's default says.
    ui.send.disabled = !state.connected;
    ui.cancel.hidden = !running;
    ui.cancel.disabled = !state.connected;
  }

  // -- connection -------------------------------------------------------------------------

  function socketUrl() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    // batch=1: events that pile up while the server sends come as one array (fewer frames).
    const query = new URLSearchParams({ batch: "1" });
    // A server started with a token is opened as /?token=…; the socket needs it too.
    const token = new URLSearchParams(location.search).get("token");
    if (token) query.set("token", token);
    return `${scheme}//${location.host}/?${query}`;
  }

  function connect() {
    clearTimeout(state.retryTimer);
    clearInterval(state.countdownTimer);
    setStatus("connecting", state.attempt ? "reconnecting…" : "connecting…");
    const socket = new WebSocket(socketUrl());
    state.socket = socket;
    socket.addEventListener("open", () => {
      state.attempt = 0;
      state.connected = true;
      setStatus("connected", "connected");
      updateControls();
    });
    socket.addEventListener("message", (msg) => {
      let data;
      try {
        data = JSON.parse(msg.data);
      } catch {
        notice("error", `Unreadable frame from the server: ${String(msg.data).slice(0, 200)}`);
        return;
      }
      // A batch frame is an array of ordinary events, in order.
      for (const event of Array.isArray(data) ? data : [data]) handle(event);
    });
    socket.addEventListener("close", () => {
      if (state.socket !== socket) return;
      state.socket = null;
      state.connected = false;
      // The run goes on on the server: pick it up where we left it once we are back.
      if (state.run) {
        state.rejoin = { type: "run.join", run_id: state.run.id, after_seq: state.run.lastSeq };
        append(el("div", "rejoin muted", "connection lost — rejoining when back…"), state.run.el);
      } else if (state.awaitingRun && state.conversationId) {
        // It may have started without us seeing it: its conversation knows.
        state.rejoin = { type: "run.join", conversation_id: state.conversationId };
      }
      scheduleReconnect();
    });
  }

  function scheduleReconnect() {
    // Exponential backoff with jitter, so a restarted server is not hit by every tab at once.
    const base = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** state.attempt);
    const delay = base + Math.floor(Math.random() * 250);
    state.attempt += 1;
    const due = Date.now() + delay;
    const tick = () => {
      const left = Math.max(0, Math.ceil((due - Date.now()) / 1000));
      setStatus("offline", `disconnected — reconnecting in ${left}s`);
    };
    tick();
    state.countdownTimer = setInterval(tick, 250);
    state.retryTimer = setTimeout(connect, delay);
    updateControls();
  }

  function sendCommand(command) {
    if (!state.socket || state.socket.readyState !== WebSocket.OPEN) return false;
    state.socket.send(JSON.stringify(command));
    return true;
  }

  // -- events -----------------------------------------------------------------------------

  function handle(event) {
    if (event.run_id !== undefined && alreadyDrawn(event)) return undefined;
    switch (event.type) {
      case "session.ready":
        return onReady(event);
      case "run.queued":
        return onQueued(event);
      case "run.started":
        return onRunStarted(event);
      case "agent.switched":
        return onSwitched(event);
      case "message.started":
        return messageFor(event);
      case "text.delta":
        return onDelta(event);
      case "message.completed":
        return onMessageCompleted(event);
      case "tool.call.started":
        return onToolStarted(event);
      case "tool.call.completed":
        return onToolCompleted(event);
      case "run.completed":
        return onRunCompleted(event);
      case "run.failed":
        return endRun("failed", `${event.message}`, event);
      case "guardrail.tripped":
        return onGuardrailTripped(event);
      case "message.retracted":
        return onRetracted(event);
      case "approval.requested":
        return onApprovalRequested(event);
      case "run.interrupted":
        return onRunInterrupted(event);
      case "run.cancelled":
        return endRun("cancelled", CANCELLED[event.reason] || `Cancelled: ${event.reason}`);
      case "error":
        return onError(event);
      case "pong":
        return undefined;
      default:
        return undefined; // newer servers may add events; ignoring them is the contract
    }
  }

  function alreadyDrawn(event) {
    if (state.endedRuns.has(event.run_id)) {
      if (state.awaitingRun && TERMINAL.has(event.type)) {
        // Rejoining found only the run before ours: our message never reached the server.
        state.awaitingRun = false;
        notice("error", "Connection lost before the run started; send the message again.");
        updateControls();
      }
      return true;
    }
    const run = state.run;
    if (!run || run.id !== event.run_id) return false;
    if (event.seq <= run.lastSeq) return true;
    run.lastSeq = event.seq;
    return false;
  }

  function onReady(event) {
    state.agents = new Map(event.agents.map((a) => [a.id, a]));
    if (!state.conversationId) state.conversationId = event.conversation_id;
    ui.model.textContent = `${event.model.provider} · ${event.model.name}`;
    const chosen = ui.agent.value;
    ui.agent.replaceChildren(el("option", "", `${agentName(event.start_agent)} (default)`));
    ui.agent.firstChild.value = "";
    for (const agent of event.agents) {
      if (agent.id === event.start_agent) continue;
      const option = el("option", "", agent.name);
      option.value = agent.id;
      option.title = agent.description;
      ui.agent.appendChild(option);
    }
    ui.agent.value = state.agents.has(chosen) ? chosen : "";
    if (state.rejoin) {
      sendCommand(state.rejoin);
      state.rejoin = null;
    }
    updateControls();
  }

  function onRunStarted(event) {
    state.awaitingRun = false;
    document.querySelector(`.msg.user[data-run-id="${CSS.escape(event.run_id)}"] .queued-tag`)?.remove();
    const waiting = state.unplaced.findIndex((b) => b.firstChild?.textContent === event.input);
    if (waiting >= 0) state.unplaced.splice(waiting, 1);
    const runEl = append(el("section", "run"));
    runEl.dataset.runId = event.run_id;
    const head = el("div", "run-head");
    const how = event.resumed_from ? "continued after your decision with " : "run started with ";
    head.append(el("span", "muted", how), badge(event.agent));
    runEl.appendChild(head);
    state.run = {
      id: event.run_id,
      lastSeq: event.seq || 0,
      el: runEl,
      messages: new Map(),
      tools: new Map(),
    };
    setSpeaking(event.agent);
    updateControls();
  }

  function currentRun() {
    // Events of a run we did not see start (a page opened mid-run) still get a home.
    if (!state.run) onRunStarted({ run_id: "?", agent: ui.speaking.dataset.agent || "?" });
    return state.run;
  }

  function onSwitched(event) {
    const run = currentRun();
    const marker = el("div", "switch");
    marker.append(badge(event.from_agent), el("span", "arrow", " hands off to "), badge(event.to_agent));
    append(marker, run.el);
    setSpeaking(event.to_agent);
  }

  function messageFor(event) {
    const run = currentRun();
    let message = run.messages.get(event.message_id);
    if (!message) {
      const box = el("article", "msg assistant streaming");
      box.dataset.messageId = event.message_id;
      box.appendChild(badge(event.agent));
      const text = el("div", "text");
      box.appendChild(text);
      append(box, run.el);
      message = { box, text };
      run.messages.set(event.message_id, message);
      setSpeaking(event.agent);
    }
    return message;
  }

  function onDelta(event) {
    const message = messageFor(event);
    stickToBottom(() => message.text.append(event.delta));
  }

  function onMessageCompleted(event) {
    const message = messageFor(event);
    // The completed text is authoritative: it repairs anything a dropped delta lost.
    if (message.text.textContent !== event.text) message.text.textContent = event.text;
    message.box.classList.remove("streaming");
  }

  function onGuardrailTripped(event) {
    const run = currentRun();
    const card = el("div", "guardrail-trip");
    card.setAttribute("role", "alert");
    card.dataset.guardrail = event.guardrail;
    const where = STAGES[event.stage] || event.stage;
    card.append(
      el("strong", "", `Blocked by the “${event.guardrail}” check`),
      el("span", "muted", ` (${where}, `),
      badge(event.agent),
      el("span", "muted", ")"),
      el("div", "guardrail-message", event.message),
    );
    append(card, run.el);
  }

  function onRetracted(event) {
    // Text a guardrail took back: it must not stay on screen as if it were an answer.
    const message = currentRun().messages.get(event.message_id);
    if (!message) return;
    message.box.classList.remove("streaming");
    message.box.classList.add("retracted");
    message.text.textContent = "This text was withdrawn by a safety check.";
  }

  function onToolStarted(event) {
    const run = currentRun();
    const card = el("details", "tool-card running");
    card.open = true;
    card.dataset.callId = event.call_id;
    const summary = el("summary");
    summary.append(el("span", "tool-icon", "⚙"), el("span", "tool-name", event.tool));
    summary.append(badge(event.agent));
    const chip = el("span", "tool-status", "running…");
    summary.appendChild(chip);
    card.appendChild(summary);
    card.appendChild(el("div", "label", "arguments"));
    card.appendChild(el("pre", "tool-args", JSON.stringify(event.arguments, null, 2)));
    append(card, run.el);
    run.tools.set(event.call_id, { card, chip });
  }

  function onToolCompleted(event) {
    const run = currentRun();
    let tool = run.tools.get(event.call_id);
    if (!tool) {
      onToolStarted({ ...event, arguments: {} });
      tool = run.tools.get(event.call_id);
    }
    const { card, chip } = tool;
    card.classList.remove("running");
    card.classList.add(event.error ? "failed" : "done");
    chip.textContent = `${event.error ? "error" : "done"} · ${event.duration_ms} ms`;
    const duration = el("span", "tool-duration", `${event.duration_ms} ms`);
    duration.hidden = true; // machine-readable twin of the chip, for tests and scripts
    card.appendChild(duration);
    card.appendChild(el("div", "label", event.truncated ? "output (truncated)" : "output"));
    card.appendChild(el("pre", "tool-output", event.output));
    if (event.error) {
      card.appendChild(el("div", "label", "error"));
      card.appendChild(el("pre", "tool-error", event.error));
    }
  }

  // -- approvals: the run stopped until a person says yes or no to a tool call -------------

  function onApprovalRequested(event) {
    const run = currentRun();
    const card = el("div", "approval-card");
    card.dataset.callId = event.call_id;
    const title = el("div", "approval-title");
    title.append(el("strong", "", "Approval needed: "), badge(event.agent));
    title.append(el("span", "", " wants to run "), el("code", "approval-tool", event.tool));
    card.appendChild(title);
    card.appendChild(el("pre", "approval-args", JSON.stringify(event.arguments, null, 2)));
    const note = el("input", "approval-note");
    note.placeholder = "note for the agent (optional, sent with a rejection)";
    const approve = el("button", "approve", "Approve");
    const reject = el("button", "reject", "Reject");
    const left = el("span", "approval-left muted");
    const actions = el("div", "approval-actions");
    actions.append(approve, reject, note, left);
    card.appendChild(actions);
    append(card, run.el);
    const entry = { runId: event.run_id, card, decision: null, timer: null };
    const tick = () => {
      const s = Math.max(0, Math.round((event.expires_at - Date.now()) / 1000));
      left.textContent = s > 0 ? `${Math.floor(s / 60)} min ${s % 60} s left` : "expired";
      if (s <= 0) clearInterval(entry.timer);
    };
    tick();
    entry.timer = setInterval(tick, 1000);
    approve.addEventListener("click", () => decide(event.call_id, true, ""));
    reject.addEventListener("click", () => decide(event.call_id, false, note.value.trim()));
    state.approvals.set(event.call_id, entry);
  }

  function onRunInterrupted(event) {
    endRun("waiting", `Waiting for your decision on ${event.pending.length} tool call(s).`);
  }

  function decide(callId, approve, message) {
    const entry = state.approvals.get(callId);
    if (!entry || entry.decision) return;
    entry.decision = message ? { approve, message } : { approve };
    entry.card.classList.add(approve ? "approved" : "rejected");
    for (const b of entry.card.querySelectorAll("button, input")) b.disabled = true;
    clearInterval(entry.timer);
    entry.card.querySelector(".approval-left").textContent = approve ? "approved" : "rejected";
    for (const chip of document.querySelectorAll(`.tool-card.waiting .tool-status`)) {
      if (chip.closest(".tool-card").dataset.callId === callId) {
        chip.textContent = approve ? "approved — running below" : "rejected";
      }
    }
    // Every call of the run decided: the run goes on (from this page or any other).
    const same = [...state.approvals.entries()].filter(([, e]) => e.runId === entry.runId);
    if (same.some(([, e]) => !e.decision)) return;
    const decisions = same.map(([id, e]) => ({ call_id: id, ...e.decision }));
    for (const [id] of same) state.approvals.delete(id);
    if (sendCommand({ type: "run.resume", run_id: entry.runId, decisions })) {
      state.awaitingRun = true;
      updateControls();
    }
  }

  function onRunCompleted(event) {
    const u = event.usage;
    const parts = [
      `done in ${(event.duration_ms / 1000).toFixed(1)} s`,
      `${u.requests} model requests`,
      // null: the provider reported no usage. Unknown, not zero.
      u.input_tokens == null || u.output_tokens == null
        ? "tokens unknown"
        : `${u.input_tokens} in + ${u.output_tokens} out tokens`,
    ];
    endRun("completed", parts.join(" · "));
  }

  function endRun(kind, text, failure) {
    const run = currentRun();
    for (const message of run.messages.values()) message.box.classList.remove("streaming");
    for (const tool of run.tools.values()) {
      if (tool.card.classList.contains("running")) {
        const waiting = kind === "waiting";
        tool.card.classList.replace("running", waiting ? "waiting" : "failed");
        tool.chip.textContent = waiting ? "waiting for approval" : "not finished";
      }
    }
    const end = el("div", `run-end run-${kind}`);
    if (failure) {
      end.setAttribute("role", "alert");
      // A tripped guardrail is a refusal, not a fault: say "Blocked", and only a check that
      // could not run (retryable) reads as an error worth retrying.
      const blocked = failure.code === "guardrail" && !failure.retryable;
      end.append(
        el("strong", "", blocked ? "Blocked" : `Error (${failure.code})`),
        el("span", "", ` ${text}`),
      );
      if (failure.retryable) end.append(el("span", "muted", " — you can try again."));
    } else {
      end.textContent = text;
    }
    append(end, run.el);
    run.el.classList.add(`ended-${kind}`);
    for (const marker of run.el.querySelectorAll(".rejoin")) marker.remove();
    state.endedRuns.add(run.id);
    state.run = null;
    state.awaitingRun = false;
    updateControls();
    if (ui.input && !ui.input.disabled) ui.input.focus();
  }

  // A message waiting for the answers before it: its bubble says so, and where it stands.
  function onQueued(event) {
    let tag = document.querySelector(`.msg.user[data-run-id="${CSS.escape(event.run_id)}"] .queued-tag`);
    if (!tag) {
      const bubble = state.unplaced.shift();
      if (!bubble) return;
      bubble.dataset.runId = event.run_id;
      tag = bubble.appendChild(el("span", "queued-tag", ""));
    }
    tag.textContent = event.position === 1 ? " · waiting: next" : ` · waiting: #${event.position}`;
    state.awaitingRun = false;
    updateControls();
  }

  function onError(event) {
    // Connection-level errors (busy, bad_request, too_large…): the connection stays usable.
    if (event.code === "not_found" && state.run) {
      // The run we were rejoining is gone (its log expired): say so rather than wait.
      endRun("interrupted", "Connection lost, and the run could not be recovered.");
      return;
    }
    state.awaitingRun = false;
    if (event.code === "busy") state.unplaced.shift(); // that message was not taken
    const node = notice("error", `${event.code}: ${event.message}`);
    node.setAttribute("role", "alert");
    node.dataset.code = event.code;
    updateControls();
  }

  // -- composer ---------------------------------------------------------------------------

  function submit() {
    const text = ui.input.value;
    if (!text.trim() || ui.send.disabled) return;
    const command = { type: "user.message", text };
    if (ui.agent.value) command.agent = ui.agent.value;
    if (state.conversationId) command.conversation_id = state.conversationId;
    const during = state.run !== null || state.awaitingRun;
    if (during && ui.multitask.value) command.multitask = ui.multitask.value;
    if (!sendCommand(command)) return;
    ui.hint.hidden = true;
    const bubble = append(el("div", "msg user", text));
    if (during && command.multitask) {
      const tags = { enqueue: " · after this answer", rollback: " · takes back the answer", interrupt: " · interrupts" };
      bubble.appendChild(el("span", "multitask-tag", tags[command.multitask] || ""));
    }
    // Until the server says it waits (run.queued) or answers it: the first such bubble is
    // the one a run.queued names.
    if (during && (!command.multitask || command.multitask === "enqueue")) state.unplaced.push(bubble);
    ui.input.value = "";
    state.awaitingRun = true;
    updateControls();
  }

  ui.form.addEventListener("submit", (e) => {
    e.preventDefault();
    submit();
  });
  ui.input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    }
  });
  ui.cancel.addEventListener("click", () => {
    if (sendCommand({ type: "run.cancel" })) ui.cancel.disabled = true;
  });

  updateControls();
  connect();
})();
