/*
 * The one WebSocket to the desk: hello with the last seq held, reconnects with
 * backoff, pings to notice a half-open connection, pending messages resent after
 * "ready", what the desk sends, older entries on request, and errors.
 */
(function (sd) {
  "use strict";

  const { config, state, ui } = sd;
  const PING_MS = 25000;
  const SILENCE_MS = 2 * PING_MS + 10000;

  let socket = null;
  let socketReady = false;
  let attempt = 0;
  let reconnectTimer = null;
  let pingTimer = null;
  let lastHeard = 0;
  let needSession = false;

  sd.socketReady = () => socketReady;

  function connect() {
    if (!state.token || socket) return;
    window.clearTimeout(reconnectTimer);
    sd.setStatus(attempt ? "closed" : "connecting");
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(scheme + "//" + window.location.host + config.socket_url);
    socket = ws;
    socketReady = false;
    ws.addEventListener("open", () => {
      lastHeard = Date.now();
      ws.send(JSON.stringify({ type: "hello", token: state.token, last_seq: state.lastSeq }));
    });
    ws.addEventListener("message", (message) => {
      if (ws !== socket) return;
      lastHeard = Date.now();
      let data;
      try {
        data = JSON.parse(message.data);
      } catch (error) {
        return;
      }
      if (data && typeof data.type === "string" && handlers[data.type]) {
        handlers[data.type](data);
      }
    });
    ws.addEventListener("close", (close) => {
      if (ws === socket) lost(close.code);
    });
  }
  sd.connect = connect;

  function lost(code) {
    socket = null;
    socketReady = false;
    window.clearInterval(pingTimer);
    sd.hideAgentTyping();
    sd.stopTyping(false);
    sd.setStatus("closed");
    // 4401: the token is gone or refused; a fresh session issues a new one.
    if (code === 4401) needSession = true;
    reconnectLater();
  }

  function reconnectLater() {
    window.clearTimeout(reconnectTimer);
    reconnectTimer = window.setTimeout(() => {
      if (needSession) {
        needSession = false;
        state.token = null;
        sd.keepToken(null);
        sd.startSession();
      } else {
        connect();
      }
    }, sd.backoff(attempt++));
  }

  sd.closeSocket = function closeSocket() {
    const ws = socket;
    socket = null;
    socketReady = false;
    window.clearInterval(pingTimer);
    window.clearTimeout(reconnectTimer);
    if (ws) ws.close();
  };

  function send(message) {
    if (!socketReady || !socket) return false;
    socket.send(JSON.stringify(message));
    return true;
  }
  sd.send = send;

  window.addEventListener("online", () => {
    if (!socket && state.token && state.screen === "chat") {
      attempt = 0;
      connect();
    }
  });

  const handlers = {
    ready(data) {
      socketReady = true;
      attempt = 0;
      sd.setStatus("open");
      if (data.visitor) state.visitor = Object.assign({}, state.visitor, data.visitor);
      state.agentsOnline = data.agents_online !== false;
      sd.updateOffline();
      sd.setAgentRead(data.agent_read_seq);
      state.receiptSent = { seq: 0, readSeq: 0 };
      window.clearInterval(pingTimer);
      pingTimer = window.setInterval(() => {
        if (Date.now() - lastHeard < SILENCE_MS) {
          send({ type: "ping" });
          return;
        }
        // No pong for two rounds: a half-open connection may take minutes to
        // report its close, so it is given up on now.
        const silent = socket;
        lost(1006);
        if (silent) silent.close();
      }, PING_MS);
    },
    entry(data) {
      sd.addEntry(data.entry);
    },
    synced(data) {
      if (state.initialSync) {
        state.hasMore = Boolean(data.has_more);
        state.initialSync = false;
        if (state.seenSeq === null) {
          state.seenSeq = state.lastSeq;
          sd.store.set(sd.SEEN_KEY, String(state.seenSeq));
        }
        sd.scrollToBottom();
      }
      for (const item of state.pending.values()) {
        if (!item.file && item.status !== "failed") sd.sendPending(item);
      }
      for (const message of state.outbox.splice(0)) send(message);
      sd.scheduleRefresh();
    },
    history(data) {
      const before = ui.scroller.scrollHeight - ui.scroller.scrollTop;
      for (const entry of data.entries || []) sd.addEntry(entry, { older: true });
      state.hasMore = Boolean(data.has_more);
      ui.loadEarlier.disabled = false;
      ui.loadEarlier.textContent = "Load earlier messages";
      sd.refresh();
      ui.scroller.scrollTop = ui.scroller.scrollHeight - before;
    },
    // Stored, not yet on the timeline: the entry with the same client_id that
    // follows replaces the pending bubble.
    ack() {},
    typing(data) {
      if (data.typing && data.agent) {
        sd.showAgentTyping(data.agent);
        sd.agentIsHere();
      } else {
        sd.hideAgentTyping();
      }
    },
    read(data) {
      sd.setAgentRead(data.seq);
    },
    pong() {},
    error(data) {
      onServerError(data);
    },
  };

  ui.loadEarlier.addEventListener("click", () => {
    const lowest = state.seqs[0];
    if (!lowest || !send({ type: "history", before: lowest })) return;
    ui.loadEarlier.disabled = true;
    ui.loadEarlier.textContent = "Loading…";
  });

  /* ---- Errors from the socket ------------------------------------------- */

  function errorText(data) {
    const texts = {
      too_long: "That message is too long. Please shorten it.",
      rate_limited: "You are sending messages too quickly.",
      unavailable: "The chat is unavailable right now. Please try again later.",
      not_found: "That could not be found.",
    };
    let text = texts[data.error] || data.message || "Something went wrong.";
    const seconds = Number(data.retry_after);
    if (Number.isFinite(seconds) && seconds > 0) {
      text += " Try again in " + Math.ceil(seconds) + " s.";
    }
    return text;
  }

  function onServerError(data) {
    const text = errorText(data);
    const item = data.client_id && state.pending.get(data.client_id);
    if (item && data.error === "rate_limited") {
      // Kept as pending and sent again once the limit allows it.
      sd.showBanner(text);
      window.setTimeout(() => {
        if (state.pending.get(item.clientId) === item) sd.sendPending(item);
      }, sd.retryAfterMs(data));
      return;
    }
    if (item) {
      sd.setPendingStatus(item, "failed", text, data.error);
      return;
    }
    if (state.ratingInFlight !== null && state.ratingError) {
      state.ratingInFlight = null;
      state.ratingError(text);
      return;
    }
    sd.showBanner(text);
  }
})(window.SupportDeskWidget);
