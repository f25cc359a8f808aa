/*
 * The workspace's shared client: one WebSocket to the desk, and the keyboard.
 *
 * window.desk.socket
 *   .send(obj)         send a JSON message (queued while the socket reconnects)
 *   .watch(ticketId)   hear a ticket's events and presence; re-sent after reconnects
 *   .unwatch()         stop watching
 *   .state             "connecting" | "open" | "closed"
 *   While open it pings every PING_EVERY_MS: the desk counts the agent as online
 *   (the chat widget tells visitors whether anyone is there) while pings arrive.
 * DOM events on document:
 *   desk:event         detail: the event dict the server relayed
 *   desk:socket        detail: {state}, whenever the connection opens or drops
 * window.desk.shortcuts
 *   .register(key, description, handler)   `?` lists every registered shortcut
 */
(function () {
  "use strict";

  const desk = (window.desk = window.desk || {});
  const MIN_DELAY_MS = 500;
  const MAX_DELAY_MS = 15000;
  // Well inside the server's WIDGET_ONLINE_SECONDS, so one late ping is no gap.
  const PING_EVERY_MS = 30000;

  class DeskSocket {
    constructor(path) {
      this.path = path;
      this.state = "connecting";
      this.pending = [];
      this.watched = null;
      this.attempt = 0;
      this.pinger = null;
      this.connect();
    }

    url() {
      const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
      return scheme + "//" + window.location.host + this.path;
    }

    connect() {
      this.setState("connecting");
      const ws = new WebSocket(this.url());
      this.ws = ws;
      ws.addEventListener("open", () => {
        this.attempt = 0;
        this.setState("open");
        if (this.watched !== null) {
          ws.send(JSON.stringify({ action: "watch_ticket", ticket_id: this.watched }));
        }
        for (const message of this.pending.splice(0)) ws.send(message);
        this.startPinging(ws);
      });
      ws.addEventListener("message", (message) => {
        let event;
        try {
          event = JSON.parse(message.data);
        } catch (error) {
          return;
        }
        document.dispatchEvent(new CustomEvent("desk:event", { detail: event }));
      });
      ws.addEventListener("close", (close) => {
        this.stopPinging();
        this.setState("closed");
        // 4401/4403: the session ended or was refused; a retry would be refused too.
        if (close.code === 4401 || close.code === 4403) return;
        this.reconnectLater();
      });
    }

    // Pings go to the socket that is open now; a dropped one's are never queued.
    startPinging(ws) {
      this.stopPinging();
      this.pinger = window.setInterval(() => {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ action: "ping" }));
      }, PING_EVERY_MS);
    }

    stopPinging() {
      if (this.pinger !== null) window.clearInterval(this.pinger);
      this.pinger = null;
    }

    reconnectLater() {
      // Exponential backoff with jitter, so a restarted server is not stampeded.
      const ceiling = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** this.attempt);
      this.attempt += 1;
      const delay = ceiling / 2 + Math.random() * (ceiling / 2);
      window.setTimeout(() => this.connect(), delay);
    }

    setState(state) {
      this.state = state;
      document.dispatchEvent(new CustomEvent("desk:socket", { detail: { state } }));
    }

    send(obj) {
      const message = JSON.stringify(obj);
      if (this.isOpen()) this.ws.send(message);
      else this.pending.push(message);
    }

    isOpen() {
      return Boolean(this.ws && this.ws.readyState === WebSocket.OPEN);
    }

    // The watch is state, not a queued message: while the socket is down the
    // open handler announces it once, so it is never sent twice.
    watch(ticketId) {
      this.watched = Number(ticketId);
      if (this.isOpen()) {
        this.ws.send(JSON.stringify({ action: "watch_ticket", ticket_id: this.watched }));
      }
    }

    unwatch() {
      if (this.watched === null) return;
      this.watched = null;
      // A socket that is down has no watch to end; its next connection starts clean.
      if (this.isOpen()) this.ws.send(JSON.stringify({ action: "unwatch_ticket" }));
    }
  }

  /* Keyboard shortcuts: single keys, ignored while typing in a field. */
  const registry = new Map();

  function isTyping(target) {
    if (!target || !target.closest) return false;
    return Boolean(
      target.closest("input, textarea, select, [contenteditable=''], [contenteditable=true]")
    );
  }

  function overlay() {
    let element = document.getElementById("shortcuts-overlay");
    if (element) return element;
    element = document.createElement("div");
    element.id = "shortcuts-overlay";
    element.className = "shortcuts-overlay";
    element.hidden = true;
    element.setAttribute("role", "dialog");
    element.setAttribute("aria-label", "Keyboard shortcuts");
    element.addEventListener("click", (event) => {
      if (event.target === element) element.hidden = true;
    });
    document.body.appendChild(element);
    return element;
  }

  function showShortcuts() {
    const element = overlay();
    const panel = document.createElement("div");
    panel.className = "panel";
    const title = document.createElement("h2");
    title.textContent = "Keyboard shortcuts";
    const list = document.createElement("dl");
    const rows = [["?", "Show or hide this list"], ["Esc", "Close, or leave a field"]];
    for (const [key, entry] of registry) rows.push([key, entry.description]);
    for (const [key, description] of rows) {
      const term = document.createElement("dt");
      const kbd = document.createElement("kbd");
      kbd.textContent = key;
      term.appendChild(kbd);
      const detail = document.createElement("dd");
      detail.textContent = description;
      list.append(term, detail);
    }
    panel.append(title, list);
    element.replaceChildren(panel);
    element.hidden = false;
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape") {
      const element = document.getElementById("shortcuts-overlay");
      if (element && !element.hidden) element.hidden = true;
      else if (isTyping(event.target)) event.target.blur();
      return;
    }
    if (isTyping(event.target)) return;
    // Enter on a focused link or button keeps its own meaning.
    if (event.key === "Enter" && event.target.closest && event.target.closest("a, button")) {
      return;
    }
    if (event.key === "?") {
      event.preventDefault();
      const element = overlay();
      if (element.hidden) showShortcuts();
      else element.hidden = true;
      return;
    }
    const entry = registry.get(event.key);
    if (entry) {
      event.preventDefault();
      entry.handler(event);
    }
  });

  desk.shortcuts = {
    register(key, description, handler) {
      registry.set(key, { description, handler });
    },
    unregister(key) {
      registry.delete(key);
    },
    show: showShortcuts,
  };

  /* The connection indicator in the header. */
  document.addEventListener("desk:socket", (event) => {
    const indicator = document.getElementById("live-status");
    if (!indicator) return;
    const state = event.detail.state;
    indicator.dataset.state = state;
    indicator.textContent = { open: "live", connecting: "connecting…", closed: "reconnecting…" }[state];
  });

  if (document.body && document.body.dataset.deskSocket) {
    desk.socket = new DeskSocket(document.body.dataset.deskSocket);
  }
})();
