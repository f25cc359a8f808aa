/*
 * The chat widget inside its iframe: the visitor's session, the pre-chat form, and
 * the conversation over one WebSocket (entries by seq, pending messages resent after
 * reconnects, uploads, typing, receipts, ratings, history paging).
 *
 * Everything that comes from the server or the visitor reaches the page through
 * textContent and createElement only; the page runs under a script-src 'self' CSP.
 */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("widget-config").textContent);
  const PING_MS = 25000;
  const SILENCE_MS = 2 * PING_MS + 10000;
  const TYPING_EVERY_MS = 3000;
  const TYPING_IDLE_MS = 4000;
  const AGENT_TYPING_MS = 30000;
  const IDENTIFY_WAIT_MS = 300;
  const MIN_DELAY_MS = 500;
  const MAX_DELAY_MS = 10000;
  const GROUP_GAP_MS = 5 * 60 * 1000;

  const $ = (id) => document.getElementById(id);
  const ui = {
    subtitle: $("widget-subtitle"),
    close: $("close-button"),
    status: $("connection-status"),
    banner: $("error-banner"),
    offline: $("offline-notice"),
    emailForm: $("email-form"),
    emailInput: $("email-form-input"),
    emailError: $("email-form-error"),
    prechat: $("prechat"),
    prechatForm: $("prechat-form"),
    name: $("prechat-name"),
    nameOptional: $("prechat-name-optional"),
    email: $("prechat-email"),
    emailOptional: $("prechat-email-optional"),
    prechatError: $("prechat-error"),
    prechatSubmit: $("prechat-submit"),
    prechatGreeting: $("prechat-greeting"),
    chat: $("chat"),
    scroller: $("scroller"),
    loadEarlier: $("load-earlier"),
    greeting: $("chat-greeting"),
    list: $("message-list"),
    typing: $("typing-indicator"),
    typingText: $("typing-text"),
    composer: $("composer"),
    input: $("composer-input"),
    attach: $("attach-button"),
    attachInput: $("attach-input"),
    ratingTemplate: $("rating-template"),
  };

  /* Storage: a third-party iframe may be refused localStorage; memory then. */
  const memory = new Map();
  const store = {
    get(key) {
      try {
        return window.localStorage.getItem(key);
      } catch (error) {
        return memory.has(key) ? memory.get(key) : null;
      }
    },
    set(key, value) {
      memory.set(key, value);
      try {
        window.localStorage.setItem(key, value);
      } catch (error) {
        /* memory keeps it for this page */
      }
    },
    remove(key) {
      memory.delete(key);
      try {
        window.localStorage.removeItem(key);
      } catch (error) {
        /* nothing stored */
      }
    },
  };
  const TOKEN_KEY = "supportdesk:" + config.inbox + ":token";
  // The highest seq the visitor has looked at, so agent replies that arrived
  // between two pages of the host site still count as unread.
  const SEEN_KEY = "supportdesk:" + config.inbox + ":seen";

  const state = {
    token: store.get(TOKEN_KEY),
    visitor: null,
    agentsOnline: true,
    identity: null,
    identityRefused: false,
    open: true,
    screen: null,
    entries: new Map(),
    nodes: new Map(),
    seqs: [],
    ratings: new Map(),
    lastSeq: 0,
    hasMore: false,
    initialSync: true,
    agentReadSeq: 0,
    seenSeq: null,
    unread: 0,
    pending: new Map(),
    ratingInFlight: null,
    ratingError: null,
    // What the last receipts said, per connection: {seq, readSeq}.
    receiptSent: null,
    // Scroll to the newest entry after the next refresh.
    stick: false,
    // Messages other than the visitor's own, held while the socket is down.
    outbox: [],
  };
  const storedSeen = store.get(SEEN_KEY);
  if (state.token && /^\d+$/.test(storedSeen || "")) state.seenSeq = Number(storedSeen);

  /* ---- The host page ---------------------------------------------------- */

  const embedded = window.parent !== window;
  const hostOrigin = (() => {
    const claimed = new URLSearchParams(window.location.search).get("host");
    const allowed = (config.allowed_origins || []).concat([window.location.origin]);
    return claimed && allowed.indexOf(claimed) !== -1 ? claimed : null;
  })();
  state.open = !embedded;

  function toHost(message) {
    if (!embedded || !hostOrigin) return;
    message.source = "supportdesk-widget";
    window.parent.postMessage(message, hostOrigin);
  }

  let identifyWaiter = null;
  window.addEventListener("message", (event) => {
    if (!hostOrigin || event.source !== window.parent || event.origin !== hostOrigin) return;
    const message = event.data;
    if (!message || message.source !== "supportdesk-host") return;
    if (message.type === "open") setOpen(true);
    else if (message.type === "close") setOpen(false);
    else if (message.type === "identify") onIdentify(message.user);
  });

  function setOpen(open) {
    state.open = open;
    if (!open) return;
    markSeen();
    scheduleReceipt();
    if (state.screen === "prechat") ui.name.focus();
    else if (state.screen === "chat") {
      scrollToBottom();
      ui.input.focus();
    }
  }

  function onIdentify(user) {
    if (!user || typeof user !== "object" || !user.id || !user.hash) return;
    const changed = !state.identity || String(state.identity.id) !== String(user.id);
    state.identity = user;
    if (identifyWaiter) identifyWaiter();
    else if (changed && !state.identityRefused && state.screen) {
      // Signed in after the chat started: the session becomes the verified one.
      closeSocket();
      startSession();
    }
  }

  function identityUser() {
    if (!state.identity || state.identityRefused) return null;
    const { id, hash, ts } = state.identity;
    return { id, hash, ts };
  }

  /* ---- Look ------------------------------------------------------------- */

  function applyLook() {
    const color = config.color;
    if (typeof color === "string" && window.CSS && CSS.supports("color", color)) {
      document.documentElement.style.setProperty("--sd-color", color);
      document.documentElement.style.setProperty("--sd-on-color", textColorOn(color));
    }
    ui.close.hidden = !embedded;
    ui.greeting.hidden = !config.greeting;
    ui.prechatGreeting.hidden = !config.greeting;
    if (!config.upload_url) ui.attach.hidden = true;
    if (Array.isArray(config.upload_types) && config.upload_types.length) {
      ui.attachInput.accept = config.upload_types.join(",");
    }
  }

  function textColorOn(color) {
    const match = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color);
    if (!match) return "#fff";
    let hex = match[1];
    if (hex.length === 3) hex = hex.replace(/./g, "$&$&");
    const [r, g, b] = [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
    const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    return luminance > 0.6 ? "#111827" : "#fff";
  }

  function setStatus(status) {
    const texts = {
      connecting: "Connecting…",
      open: "Connected",
      closed: navigator.onLine === false ? "You are offline. Reconnecting…" : "Reconnecting…",
      idle: "",
    };
    ui.status.dataset.state = status;
    ui.status.textContent = texts[status];
  }

  let bannerTimer = null;
  function showBanner(text) {
    ui.banner.textContent = text;
    ui.banner.hidden = false;
    window.clearTimeout(bannerTimer);
    bannerTimer = window.setTimeout(() => (ui.banner.hidden = true), 8000);
  }

  function showError(element, text) {
    element.textContent = text || "";
    element.hidden = !text;
  }

  function updateOffline() {
    const offline = !state.agentsOnline;
    ui.offline.hidden = !offline;
    const hasEmail = Boolean(state.visitor && state.visitor.email);
    ui.emailForm.hidden = !(offline && state.screen === "chat" && !hasEmail);
    ui.subtitle.textContent = offline ? "Away: replies come by email" : "Online";
  }

  /* ---- Session ---------------------------------------------------------- */

  async function postSession(body) {
    const headers = { "Content-Type": "application/json" };
    if (state.token) headers["X-Widget-Token"] = state.token;
    const response = await fetch(config.session_url, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
    });
    let data = {};
    try {
      data = await response.json();
    } catch (error) {
      /* an empty or non-JSON answer keeps the status */
    }
    return { status: response.status, data };
  }

  let sessionAttempt = 0;
  async function startSession(fields) {
    setStatus("connecting");
    const body = Object.assign({ user: identityUser() }, fields || {});
    if (body.user && state.identity) {
      if (state.identity.name && !body.name) body.name = state.identity.name;
      if (state.identity.email && !body.email) body.email = state.identity.email;
    }
    let result;
    try {
      result = await postSession(body);
    } catch (error) {
      retrySessionLater(backoff(sessionAttempt++));
      return;
    }
    if (result.status === 403 && body.user) {
      // A refused identity (forged or stale): chat on as an anonymous visitor.
      state.identityRefused = true;
      startSession(fields);
      return;
    }
    if (result.status === 429) {
      retrySessionLater(retryAfterMs(result.data));
      return;
    }
    if (result.status !== 200 || !result.data.token) {
      showBanner(result.data.message || "The chat could not start. Retrying…");
      retrySessionLater(backoff(sessionAttempt++));
      return;
    }
    sessionAttempt = 0;
    applySession(result.data);
    route();
  }

  function retrySessionLater(delay) {
    setStatus("closed");
    window.setTimeout(() => startSession(), delay);
  }

  function retryAfterMs(data) {
    const seconds = Number(data && data.retry_after);
    return (Number.isFinite(seconds) && seconds > 0 ? seconds : 5) * 1000;
  }

  function applySession(data) {
    if (data.token !== state.token) {
      if (state.seqs.length) resetConversation();
      store.set(TOKEN_KEY, data.token);
      store.remove(SEEN_KEY);
      state.token = data.token;
      state.seenSeq = null;
    }
    state.visitor = data.visitor || {};
    state.agentsOnline = data.agents_online !== false;
  }

  function route() {
    const visitor = state.visitor;
    const needsEmail = !state.agentsOnline && !visitor.email;
    if (visitor.needs_prechat || (needsEmail && state.screen !== "chat")) {
      showPrechat();
    } else {
      showChat();
      connect();
    }
    updateOffline();
  }

  function showPrechat() {
    state.screen = "prechat";
    ui.prechat.hidden = false;
    ui.chat.hidden = true;
    setStatus("idle");
    const nameRequired = config.name_field === "required";
    const emailRequired = config.email_field === "required" || !state.agentsOnline;
    ui.name.required = nameRequired;
    ui.nameOptional.hidden = nameRequired;
    ui.email.required = emailRequired;
    ui.emailOptional.hidden = emailRequired;
    if (state.visitor.name && !ui.name.value) ui.name.value = state.visitor.name;
    if (state.visitor.email && !ui.email.value) ui.email.value = state.visitor.email;
    if (state.open) ui.name.focus();
  }

  function showChat() {
    state.screen = "chat";
    ui.prechat.hidden = true;
    ui.chat.hidden = false;
    if (state.open) ui.input.focus();
  }

  function fieldProblem() {
    const name = ui.name.value.trim();
    const email = ui.email.value.trim();
    if (ui.name.required && !name) return [ui.name, "Please enter your name."];
    if (ui.email.required && !email) {
      return [ui.email, "Please enter your email address, so the answer can reach you."];
    }
    if (email && !ui.email.checkValidity()) return [ui.email, "That email address looks wrong."];
    return null;
  }

  ui.prechatForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const problem = fieldProblem();
    if (problem) {
      showError(ui.prechatError, problem[1]);
      problem[0].focus();
      return;
    }
    showError(ui.prechatError, "");
    ui.prechatSubmit.disabled = true;
    // Blank fields are left out: an empty string would not be a name or an email.
    const fields = {};
    if (ui.name.value.trim()) fields.name = ui.name.value.trim();
    if (ui.email.value.trim()) fields.email = ui.email.value.trim();
    try {
      const answer = await submitFields(fields);
      if (answer) showError(ui.prechatError, answer);
    } finally {
      ui.prechatSubmit.disabled = false;
    }
  });

  ui.emailForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const email = ui.emailInput.value.trim();
    if (!email || !ui.emailInput.checkValidity()) {
      showError(ui.emailError, "Please enter a valid email address.");
      return;
    }
    showError(ui.emailError, await submitFields({ email }));
  });

  // Sends the visitor's own fields; an error text for the form, or "" when stored.
  async function submitFields(fields) {
    let result;
    try {
      result = await postSession(Object.assign({ user: identityUser() }, fields));
    } catch (error) {
      return "No connection. Please try again.";
    }
    if (result.status === 429) {
      return "Too many attempts. Try again in " + retryAfterMs(result.data) / 1000 + " s.";
    }
    if (result.status !== 200 || !result.data.token) {
      return result.data.message || "That did not work. Please check the fields.";
    }
    applySession(result.data);
    if (state.visitor.needs_prechat) return "Please fill in the fields above.";
    if (state.screen !== "chat") {
      showChat();
      connect();
    }
    updateOffline();
    return "";
  }

  /* ---- Socket ----------------------------------------------------------- */

  let socket = null;
  let socketReady = false;
  let attempt = 0;
  let reconnectTimer = null;
  let pingTimer = null;
  let lastHeard = 0;
  let needSession = false;

  function backoff(tries) {
    const ceiling = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** tries);
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  function connect() {
    if (!state.token || socket) return;
    window.clearTimeout(reconnectTimer);
    setStatus(attempt ? "closed" : "connecting");
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

  function lost(code) {
    socket = null;
    socketReady = false;
    window.clearInterval(pingTimer);
    hideAgentTyping();
    stopTyping(false);
    setStatus("closed");
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
        store.remove(TOKEN_KEY);
        startSession();
      } else {
        connect();
      }
    }, backoff(attempt++));
  }

  function closeSocket() {
    const ws = socket;
    socket = null;
    socketReady = false;
    window.clearInterval(pingTimer);
    window.clearTimeout(reconnectTimer);
    if (ws) ws.close();
  }

  function send(message) {
    if (!socketReady || !socket) return false;
    socket.send(JSON.stringify(message));
    return true;
  }

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
      setStatus("open");
      if (data.visitor) state.visitor = data.visitor;
      state.agentsOnline = data.agents_online !== false;
      updateOffline();
      setAgentRead(data.agent_read_seq);
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
      addEntry(data.entry);
    },
    synced(data) {
      if (state.initialSync) {
        state.hasMore = Boolean(data.has_more);
        state.initialSync = false;
        if (state.seenSeq === null) {
          state.seenSeq = state.lastSeq;
          store.set(SEEN_KEY, String(state.seenSeq));
        }
        scrollToBottom();
      }
      for (const item of state.pending.values()) {
        if (!item.file && item.status !== "failed") sendPending(item);
      }
      for (const message of state.outbox.splice(0)) send(message);
      scheduleRefresh();
    },
    history(data) {
      const before = ui.scroller.scrollHeight - ui.scroller.scrollTop;
      for (const entry of data.entries || []) addEntry(entry, { older: true });
      state.hasMore = Boolean(data.has_more);
      ui.loadEarlier.disabled = false;
      ui.loadEarlier.textContent = "Load earlier messages";
      refresh();
      ui.scroller.scrollTop = ui.scroller.scrollHeight - before;
    },
    // Stored, not yet on the timeline: the entry with the same client_id that
    // follows replaces the pending bubble.
    ack() {},
    typing(data) {
      if (data.typing && data.agent) {
        showAgentTyping(data.agent);
        agentIsHere();
      } else {
        hideAgentTyping();
      }
    },
    read(data) {
      setAgentRead(data.seq);
    },
    pong() {},
    error(data) {
      onServerError(data);
    },
  };

  /* ---- Entries ---------------------------------------------------------- */

  // A new visitor (another user signed in, or the token was refused): the old
  // entries go; unsent messages stay and are sent as the new visitor's.
  function resetConversation() {
    ui.list.replaceChildren(...Array.from(state.pending.values(), (item) => item.row));
    state.entries.clear();
    state.nodes.clear();
    state.ratings.clear();
    state.seqs = [];
    state.lastSeq = 0;
    state.hasMore = false;
    state.initialSync = true;
    state.agentReadSeq = 0;
    state.unread = 0;
    toHost({ type: "unread", count: 0 });
  }

  function addEntry(entry, options) {
    if (!entry || !Number.isInteger(entry.seq) || entry.seq < 1) return;
    if (state.entries.has(entry.seq)) return;
    const older = Boolean(options && options.older);
    const stick = !older && (state.initialSync || nearBottom() || entry.from === "visitor");
    state.entries.set(entry.seq, entry);
    state.lastSeq = Math.max(state.lastSeq, entry.seq);

    const node = renderEntry(entry);
    const index = insertionIndex(entry.seq);
    state.seqs.splice(index, 0, entry.seq);
    state.nodes.set(entry.seq, node);
    const next = state.nodes.get(state.seqs[index + 1]);
    ui.list.insertBefore(node, next || ui.list.querySelector(".row.pending"));

    if (entry.kind === "message" && entry.from === "visitor" && entry.client_id) {
      const item = state.pending.get(entry.client_id);
      if (item) {
        item.row.remove();
        state.pending.delete(entry.client_id);
      }
    }
    if (entry.kind === "message" && entry.from === "agent") {
      hideAgentTyping();
      if (!older && !state.initialSync) agentIsHere();
    }
    if (entry.kind === "rating" && Number.isInteger(entry.rates)) {
      state.ratings.set(entry.rates, entry);
      if (state.ratingInFlight === entry.rates) state.ratingInFlight = null;
    }
    if (stick) state.stick = true;
    scheduleRefresh();
  }

  function insertionIndex(seq) {
    let low = 0;
    let high = state.seqs.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (state.seqs[middle] < seq) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  function renderEntry(entry) {
    if (entry.kind === "message") return renderMessage(entry);
    const row = document.createElement("div");
    row.className = "row system";
    row.dataset.seq = String(entry.seq);
    if (entry.kind !== "resolved") {
      // Ratings show on the entry they rate; unknown kinds stay out of sight.
      row.hidden = true;
      return row;
    }
    const divider = document.createElement("p");
    divider.className = "divider";
    divider.textContent = "Conversation resolved";
    const slot = document.createElement("div");
    slot.className = "rating-slot";
    row.append(divider, slot);
    return row;
  }

  function renderMessage(entry) {
    const fromAgent = entry.from === "agent";
    const agent = (fromAgent && entry.agent) || {};
    const row = document.createElement("div");
    row.className = "row " + (fromAgent ? "from-agent" : "from-visitor");
    row.dataset.seq = String(entry.seq);
    row.dataset.sender = fromAgent ? "agent:" + (agent.name || "") : "visitor";
    row.dataset.at = String(Date.parse(entry.at) || 0);

    const body = document.createElement("div");
    body.className = "body";
    if (fromAgent) {
      row.appendChild(avatar(agent));
      const author = document.createElement("span");
      author.className = "author";
      author.textContent = agent.name || "Support";
      body.appendChild(author);
    }
    const bubble = bubbleFor(entry.text, entry.attachments);
    bubble.dataset.seq = String(entry.seq);
    bubble.dataset.from = fromAgent ? "agent" : "visitor";
    body.append(bubble, metaLine(entry.at));
    row.appendChild(body);
    return row;
  }

  function bubbleFor(text, attachments) {
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.setAttribute("data-testid", "message");
    if (text) {
      const paragraph = document.createElement("p");
      paragraph.className = "text";
      appendLinkedText(paragraph, String(text));
      bubble.appendChild(paragraph);
    }
    if (Array.isArray(attachments) && attachments.length) {
      const list = document.createElement("ul");
      list.className = "attachments";
      for (const file of attachments) list.appendChild(attachmentItem(file));
      bubble.appendChild(list);
    }
    return bubble;
  }

  function avatar(agent) {
    const circle = document.createElement("span");
    circle.className = "avatar";
    circle.setAttribute("aria-hidden", "true");
    circle.textContent = agent.initials || initialsOf(agent.name);
    if (typeof agent.color === "string" && window.CSS && CSS.supports("color", agent.color)) {
      circle.style.backgroundColor = agent.color;
      circle.style.color = textColorOn(agent.color);
    }
    return circle;
  }

  function initialsOf(name) {
    const words = String(name || "").trim().split(/\s+/).filter(Boolean);
    return words.slice(0, 2).map((word) => word[0].toUpperCase()).join("") || "?";
  }

  function metaLine(at) {
    const meta = document.createElement("div");
    meta.className = "meta";
    const when = new Date(at);
    if (!Number.isNaN(when.getTime())) {
      const time = document.createElement("time");
      time.dateTime = when.toISOString();
      time.title = when.toLocaleString();
      const sameDay = when.toDateString() === new Date().toDateString();
      const clock = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      time.textContent = sameDay ? clock : when.toLocaleDateString() + " " + clock;
      meta.appendChild(time);
    }
    return meta;
  }

  function safeUrl(url) {
    try {
      const parsed = new URL(String(url), window.location.href);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch (error) {
      return null;
    }
  }

  function appendLinkedText(parent, text) {
    const pattern = /https?:\/\/[^\s<>"']+/g;
    let from = 0;
    let match;
    while ((match = pattern.exec(text)) !== null) {
      let url = match[0];
      const trailing = /[.,;:!?)\]]+$/.exec(url);
      if (trailing) url = url.slice(0, -trailing[0].length);
      const href = safeUrl(url);
      if (!href) continue;
      parent.appendChild(document.createTextNode(text.slice(from, match.index)));
      const link = document.createElement("a");
      link.href = href;
      link.target = "_blank";
      link.rel = "noopener noreferrer nofollow";
      link.textContent = url;
      parent.appendChild(link);
      from = match.index + url.length;
    }
    parent.appendChild(document.createTextNode(text.slice(from)));
  }

  function attachmentItem(file) {
    const item = document.createElement("li");
    const href = safeUrl(file && file.url);
    const name = String((file && file.name) || "file");
    const label = name + (file && file.size ? " (" + humanSize(file.size) + ")" : "");
    if (!href) {
      item.textContent = label;
      return item;
    }
    const link = document.createElement("a");
    link.href = href;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    if (/^image\//.test(String(file.content_type || ""))) {
      const image = document.createElement("img");
      image.src = href;
      image.alt = name;
      image.loading = "lazy";
      link.appendChild(image);
      link.className = "image-link";
      link.title = label;
    } else {
      link.className = "file-link";
      link.textContent = label;
    }
    item.appendChild(link);
    return item;
  }

  function humanSize(bytes) {
    const size = Number(bytes) || 0;
    if (size < 1024) return size + " B";
    if (size < 1024 * 1024) return Math.round(size / 1024) + " KB";
    return (size / (1024 * 1024)).toFixed(1).replace(/\.0$/, "") + " MB";
  }

  /* ---- After each change: grouping, seen, ratings, unread, receipts ------ */

  let refreshQueued = false;
  function scheduleRefresh() {
    if (refreshQueued) return;
    refreshQueued = true;
    Promise.resolve().then(() => {
      refreshQueued = false;
      refresh();
    });
  }

  function refresh() {
    regroup();
    placeSeenMarker();
    refreshRatings();
    const lowest = state.seqs[0];
    ui.loadEarlier.hidden = !(state.hasMore && lowest > 1);
    ui.greeting.hidden = !config.greeting || ui.loadEarlier.hidden === false;
    markSeen();
    scheduleReceipt();
    if (state.stick) {
      state.stick = false;
      scrollToBottom();
    }
  }

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

  const seenMarker = document.createElement("span");
  seenMarker.className = "seen-marker";
  seenMarker.setAttribute("data-testid", "seen-marker");
  seenMarker.textContent = "Seen";

  function setAgentRead(seq) {
    if (Number.isInteger(seq) && seq > state.agentReadSeq) {
      state.agentReadSeq = seq;
      scheduleRefresh();
    }
  }

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

  function refreshRatings() {
    let latest = 0;
    for (const [seq, entry] of state.entries) {
      if (entry.kind === "resolved") latest = Math.max(latest, seq);
    }
    for (const [seq, entry] of state.entries) {
      if (entry.kind !== "resolved") continue;
      const slot = state.nodes.get(seq).querySelector(".rating-slot");
      const rating = state.ratings.get(seq);
      const mode = rating ? "thanks" : seq === latest ? "form" : "none";
      if (slot.dataset.mode === mode) continue;
      slot.dataset.mode = mode;
      if (mode === "thanks") slot.replaceChildren(ratingThanks(rating));
      else if (mode === "form") slot.replaceChildren(ratingForm(seq));
      else slot.replaceChildren();
    }
  }

  function ratingThanks(rating) {
    const thanks = document.createElement("p");
    thanks.className = "rating-thanks";
    thanks.setAttribute("data-testid", "rating-thanks");
    const score = Math.max(0, Math.min(5, Number(rating.score) || 0));
    const stars = document.createElement("span");
    stars.className = "stars-shown";
    stars.textContent = "★".repeat(score) + "☆".repeat(5 - score);
    stars.setAttribute("aria-label", score + " out of 5");
    thanks.append("Thanks for your rating ", stars);
    return thanks;
  }

  function ratingForm(seq) {
    const form = ui.ratingTemplate.content.firstElementChild.cloneNode(true);
    const stars = Array.from(form.querySelectorAll(".star"));
    const submit = form.querySelector("[type=submit]");
    const comment = form.querySelector("textarea");
    const error = form.querySelector(".form-error");
    const id = "rating-comment-" + seq;
    comment.id = id;
    let score = 0;
    stars.forEach((star) => {
      star.addEventListener("click", () => {
        score = Number(star.dataset.score);
        for (const other of stars) {
          other.classList.toggle("lit", Number(other.dataset.score) <= score);
          other.setAttribute("aria-pressed", String(other === star));
        }
        submit.disabled = false;
      });
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!score) return;
      showError(error, "");
      const message = { type: "rate", seq, score, comment: comment.value.trim() };
      state.ratingInFlight = seq;
      state.ratingError = (text) => {
        showError(error, text);
        submit.disabled = false;
        submit.textContent = "Send rating";
      };
      submit.disabled = true;
      submit.textContent = "Sending…";
      if (!send(message)) state.outbox.push(message);
    });
    return form;
  }

  /* ---- Unread and receipts ---------------------------------------------- */

  function looking() {
    return state.open && state.screen === "chat" && document.visibilityState === "visible";
  }

  function markSeen() {
    if (looking() && state.seenSeq !== null && state.lastSeq > state.seenSeq) {
      state.seenSeq = state.lastSeq;
      store.set(SEEN_KEY, String(state.seenSeq));
    }
    let unread = 0;
    if (state.seenSeq !== null) {
      for (const [seq, entry] of state.entries) {
        if (seq > state.seenSeq && entry.kind === "message" && entry.from === "agent") unread++;
      }
    }
    if (unread !== state.unread) {
      state.unread = unread;
      toHost({ type: "unread", count: unread });
    }
  }

  // Throttled, not debounced: a steady stream of entries still gets receipts.
  let receiptTimer = null;
  function scheduleReceipt() {
    if (receiptTimer !== null) return;
    receiptTimer = window.setTimeout(() => {
      receiptTimer = null;
      sendReceipt();
    }, 150);
  }

  function sendReceipt() {
    const sent = state.receiptSent;
    if (!socketReady || !sent || state.initialSync || state.lastSeq < 1) return;
    const read = document.visibilityState === "visible" && state.open;
    const seq = state.lastSeq;
    if (seq <= sent.seq && (!read || seq <= sent.readSeq)) return;
    if (send({ type: "receipt", seq, read })) {
      sent.seq = seq;
      if (read) sent.readSeq = seq;
    }
  }

  document.addEventListener("visibilitychange", () => {
    markSeen();
    scheduleReceipt();
  });

  /* ---- Typing ----------------------------------------------------------- */

  // Presence comes with "ready" only; an agent writing now is proof enough.
  function agentIsHere() {
    if (state.agentsOnline) return;
    state.agentsOnline = true;
    updateOffline();
  }

  let agentTypingTimer = null;
  function showAgentTyping(agent) {
    ui.typingText.textContent = (agent.name || "Support") + " is typing…";
    const stick = nearBottom();
    ui.typing.hidden = false;
    if (stick) scrollToBottom();
    window.clearTimeout(agentTypingTimer);
    // A lost "typing: false" must not leave the indicator up for good.
    agentTypingTimer = window.setTimeout(hideAgentTyping, AGENT_TYPING_MS);
  }

  function hideAgentTyping() {
    window.clearTimeout(agentTypingTimer);
    ui.typing.hidden = true;
  }

  let typingSentAt = 0;
  let typingActive = false;
  let typingIdleTimer = null;

  function noteTyping() {
    window.clearTimeout(typingIdleTimer);
    if (!ui.input.value.trim()) {
      stopTyping(true);
      return;
    }
    const now = Date.now();
    if (now - typingSentAt >= TYPING_EVERY_MS && send({ type: "typing", typing: true })) {
      typingSentAt = now;
      typingActive = true;
    }
    typingIdleTimer = window.setTimeout(() => stopTyping(true), TYPING_IDLE_MS);
  }

  function stopTyping(tell) {
    window.clearTimeout(typingIdleTimer);
    if (typingActive && tell) send({ type: "typing", typing: false });
    typingActive = false;
    typingSentAt = 0;
  }

  /* ---- Composer and pending messages ------------------------------------ */

  function newClientId() {
    if (window.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  }

  function addPending(text, file) {
    const item = { clientId: newClientId(), text, file, status: "pending" };
    const row = document.createElement("div");
    row.className = "row from-visitor pending";
    row.dataset.sender = "visitor";
    row.dataset.at = String(Date.now());
    const body = document.createElement("div");
    body.className = "body";
    const attachments = file ? [{ name: file.name, size: file.size }] : [];
    const bubble = bubbleFor(text, attachments);
    bubble.dataset.from = "visitor";
    bubble.dataset.pending = "true";
    const meta = document.createElement("div");
    meta.className = "meta";
    body.append(bubble, meta);
    row.appendChild(body);
    item.row = row;
    item.meta = meta;
    state.pending.set(item.clientId, item);
    ui.list.appendChild(row);
    setPendingStatus(item, "pending");
    scheduleRefresh();
    scrollToBottom();
    return item;
  }

  function setPendingStatus(item, status, errorText, code) {
    item.status = status;
    item.row.classList.toggle("failed", status === "failed");
    const parts = [];
    if (status === "failed") {
      const problem = document.createElement("span");
      problem.className = "pending-error";
      problem.textContent = errorText || "Not sent.";
      parts.push(problem);
      if (code === "too_long" && !item.file) {
        parts.push(pendingButton("Edit", () => editPending(item)));
      } else {
        parts.push(pendingButton("Try again", () => retryPending(item)));
      }
      parts.push(pendingButton("Remove", () => removePending(item)));
    } else {
      const sending = document.createElement("span");
      sending.className = "sending";
      sending.textContent = "Sending…";
      parts.push(sending);
    }
    item.meta.replaceChildren(...parts);
  }

  function pendingButton(label, action) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "link-button";
    button.textContent = label;
    button.addEventListener("click", action);
    return button;
  }

  function sendPending(item) {
    const message = { type: "message", client_id: item.clientId, text: item.text };
    // The site the visitor writes from, for the agent's context.
    if (hostOrigin && embedded) message.host = hostOrigin;
    send(message);
  }

  function retryPending(item) {
    setPendingStatus(item, "pending");
    if (item.file) upload(item);
    else sendPending(item);
  }

  function removePending(item) {
    item.row.remove();
    state.pending.delete(item.clientId);
    scheduleRefresh();
    ui.input.focus();
  }

  function editPending(item) {
    const current = ui.input.value;
    ui.input.value = current ? current + "\n" + item.text : item.text;
    removePending(item);
    autosize();
  }

  function submitComposer() {
    const text = ui.input.value.trim();
    if (!text || state.screen !== "chat") return;
    const limit = Number(config.max_message_chars) || 0;
    if (limit && text.length > limit) {
      showBanner("That message is too long: at most " + limit + " characters fit.");
      return;
    }
    stopTyping(true);
    ui.input.value = "";
    autosize();
    const item = addPending(text, null);
    sendPending(item);
  }

  function autosize() {
    ui.input.style.height = "auto";
    ui.input.style.height = Math.min(ui.input.scrollHeight, 120) + "px";
  }

  ui.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    submitComposer();
    ui.input.focus();
  });

  ui.input.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    if (event.keyCode === 229) return;
    event.preventDefault();
    submitComposer();
  });

  ui.input.addEventListener("input", () => {
    autosize();
    noteTyping();
  });

  /* ---- Uploads ---------------------------------------------------------- */

  ui.attach.addEventListener("click", () => ui.attachInput.click());

  ui.attachInput.addEventListener("change", () => {
    const file = ui.attachInput.files && ui.attachInput.files[0];
    ui.attachInput.value = "";
    if (!file || state.screen !== "chat") return;
    const limit = Number(config.max_upload_bytes) || 0;
    if (limit && file.size > limit) {
      showBanner("That file is too large (at most " + humanSize(limit) + ").");
      return;
    }
    const types = config.upload_types;
    if (Array.isArray(types) && types.length && types.indexOf(file.type) === -1) {
      showBanner("Files of that type cannot be sent.");
      return;
    }
    const text = ui.input.value.trim();
    ui.input.value = "";
    autosize();
    stopTyping(true);
    upload(addPending(text, file));
  });

  async function upload(item) {
    const form = new FormData();
    form.append("file", item.file);
    form.append("client_id", item.clientId);
    if (item.text) form.append("text", item.text);
    let response;
    let data = {};
    try {
      response = await fetch(config.upload_url, {
        method: "POST",
        headers: state.token ? { "X-Widget-Token": state.token } : {},
        body: form,
      });
      data = await response.json().catch(() => ({}));
    } catch (error) {
      if (state.pending.has(item.clientId)) {
        setPendingStatus(item, "failed", "No connection. The file was not sent.");
      }
      return;
    }
    if (!state.pending.has(item.clientId) || response.status === 202) return;
    let text = data.message || "The file could not be sent.";
    if (response.status === 429) {
      text = "Too many files. Try again in " + retryAfterMs(data) / 1000 + " s.";
    }
    setPendingStatus(item, "failed", text, data.error);
  }

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
      showBanner(text);
      window.setTimeout(() => {
        if (state.pending.get(item.clientId) === item) sendPending(item);
      }, retryAfterMs(data));
      return;
    }
    if (item) {
      setPendingStatus(item, "failed", text, data.error);
      return;
    }
    if (state.ratingInFlight !== null && state.ratingError) {
      state.ratingInFlight = null;
      state.ratingError(text);
      return;
    }
    showBanner(text);
  }

  /* ---- History and scrolling -------------------------------------------- */

  ui.loadEarlier.addEventListener("click", () => {
    const lowest = state.seqs[0];
    if (!lowest || !send({ type: "history", before: lowest })) return;
    ui.loadEarlier.disabled = true;
    ui.loadEarlier.textContent = "Loading…";
  });

  function nearBottom() {
    const scroller = ui.scroller;
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  }

  function scrollToBottom() {
    ui.scroller.scrollTop = ui.scroller.scrollHeight;
  }

  /* ---- Start ------------------------------------------------------------ */

  ui.close.addEventListener("click", () => {
    setOpen(false);
    toHost({ type: "close" });
  });

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && embedded && state.open) {
      setOpen(false);
      toHost({ type: "close" });
    }
  });

  applyLook();
  toHost({
    type: "config",
    color: config.color,
    position: config.position,
    title: config.title,
  });

  // The host sends "identify" right after "config" when its visitor is signed in.
  const identified = new Promise((resolve) => {
    if (!embedded || !hostOrigin) {
      resolve();
      return;
    }
    identifyWaiter = resolve;
    window.setTimeout(resolve, IDENTIFY_WAIT_MS);
  });
  identified.then(() => {
    identifyWaiter = null;
    startSession();
  });
})();
