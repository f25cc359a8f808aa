/*
 * What follows each change to the conversation: grouping of bubbles, the "Seen"
 * marker, ratings, the unread count for the host page's launcher, receipts to the
 * desk, and the agent's typing indicator.
 */
(function (sd) {
  "use strict";

  const { config, state, ui } = sd;
  const AGENT_TYPING_MS = 30000;
  const GROUP_GAP_MS = 5 * 60 * 1000;

  let refreshQueued = false;
  sd.scheduleRefresh = function scheduleRefresh() {
    if (refreshQueued) return;
    refreshQueued = true;
    Promise.resolve().then(() => {
      refreshQueued = false;
      refresh();
    });
  };

  function refresh() {
    regroup();
    placeSeenMarker();
    sd.refreshRatings();
    const lowest = state.seqs[0];
    ui.loadEarlier.hidden = !(state.hasMore && lowest > 1);
    ui.greeting.hidden = !config.greeting || ui.loadEarlier.hidden === false;
    markSeen();
    scheduleReceipt();
    if (state.stick) {
      state.stick = false;
      sd.scrollToBottom();
    }
  }
  sd.refresh = refresh;

  function regroup() {
    const rows = Array.from(ui.list.children).filter((row) => !row.hidden);
    rows.forEach((row, index) => {
      const before = rows[index - 1];
      const after = rows[index + 1];
      row.classList.toggle("continued", sameGroup(before, row));
      row.classList.toggle("followed", sameGroup(row, after));
    });
  }

  function sameGroup(first, second) {
    if (!first || !second || !first.dataset.sender) return false;
    if (first.dataset.sender !== second.dataset.sender) return false;
    return Number(second.dataset.at || Date.now()) - Number(first.dataset.at) < GROUP_GAP_MS;
  }

  /* ---- The agent's side: seen and typing -------------------------------- */

  const seenMarker = document.createElement("span");
  seenMarker.className = "seen-marker";
  seenMarker.setAttribute("data-testid", "seen-marker");
  seenMarker.textContent = "Seen";

  sd.setAgentRead = function setAgentRead(seq) {
    if (Number.isInteger(seq) && seq > state.agentReadSeq) {
      state.agentReadSeq = seq;
      sd.scheduleRefresh();
    }
  };

  function placeSeenMarker() {
    for (let i = state.seqs.length - 1; i >= 0; i--) {
      const seq = state.seqs[i];
      const entry = state.entries.get(seq);
      if (seq > state.agentReadSeq || entry.kind !== "message" || entry.from !== "visitor") {
        continue;
      }
      const meta = state.nodes.get(seq).querySelector(".meta");
      if (seenMarker.parentNode !== meta) meta.appendChild(seenMarker);
      return;
    }
    seenMarker.remove();
  }

  // Presence comes with "ready" only; an agent writing now is proof enough.
  sd.agentIsHere = function agentIsHere() {
    if (state.agentsOnline) return;
    state.agentsOnline = true;
    sd.updateOffline();
  };

  let agentTypingTimer = null;
  sd.showAgentTyping = function showAgentTyping(agent) {
    ui.typingText.textContent = (agent.name || "Support") + " is typing…";
    const stick = sd.nearBottom();
    ui.typing.hidden = false;
    if (stick) sd.scrollToBottom();
    window.clearTimeout(agentTypingTimer);
    // A lost "typing: false" must not leave the indicator up for good.
    agentTypingTimer = window.setTimeout(hideAgentTyping, AGENT_TYPING_MS);
  };

  function hideAgentTyping() {
    window.clearTimeout(agentTypingTimer);
    ui.typing.hidden = true;
  }
  sd.hideAgentTyping = hideAgentTyping;

  /* ---- Unread and receipts ---------------------------------------------- */

  function looking() {
    return state.open && state.screen === "chat" && document.visibilityState === "visible";
  }

  function markSeen() {
    if (looking() && state.seenSeq !== null && state.lastSeq > state.seenSeq) {
      state.seenSeq = state.lastSeq;
      sd.store.set(sd.SEEN_KEY, String(state.seenSeq));
    }
    let unread = 0;
    if (state.seenSeq !== null) {
      for (const [seq, entry] of state.entries) {
        if (seq > state.seenSeq && entry.kind === "message" && entry.from === "agent") unread++;
      }
    }
    if (unread !== state.unread) {
      state.unread = unread;
      sd.toHost({ type: "unread", count: unread });
    }
  }
  sd.markSeen = markSeen;

  // Throttled, not debounced: a steady stream of entries still gets receipts.
  let receiptTimer = null;
  function scheduleReceipt() {
    if (receiptTimer !== null) return;
    receiptTimer = window.setTimeout(() => {
      receiptTimer = null;
      sendReceipt();
    }, 150);
  }
  sd.scheduleReceipt = scheduleReceipt;

  function sendReceipt() {
    const sent = state.receiptSent;
    if (!sd.socketReady() || !sent || state.initialSync || state.lastSeq < 1) return;
    const read = document.visibilityState === "visible" && state.open;
    const seq = state.lastSeq;
    if (seq <= sent.seq && (!read || seq <= sent.readSeq)) return;
    if (sd.send({ type: "receipt", seq, read })) {
      sent.seq = seq;
      if (read) sent.readSeq = seq;
    }
  }

  document.addEventListener("visibilitychange", () => {
    markSeen();
    scheduleReceipt();
  });
})(window.SupportDeskWidget);
