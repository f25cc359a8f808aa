/*
 * The chat widget inside its iframe, in plain scripts that frame.html loads in
 * order (state, host, session, render, refresh, rating, composer, socket, main).
 * They share one namespace object, window.SupportDeskWidget; each script adds its
 * functions to it and calls the others' through it, so only main.js, the last one,
 * starts anything.
 *
 * This one holds what they all read: the config, the page's elements, storage,
 * the conversation's state and the timing helpers.
 *
 * Everything that comes from the server or the visitor reaches the page through
 * textContent and createElement only; the page runs under a script-src 'self' CSP.
 */
(function () {
  "use strict";

  const sd = (window.SupportDeskWidget = {});

  const config = JSON.parse(document.getElementById("widget-config").textContent);
  sd.config = config;
  const MIN_DELAY_MS = 500;
  const MAX_DELAY_MS = 10000;

  const $ = (id) => document.getElementById(id);
  sd.ui = {
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

  /* ---- Storage ---------------------------------------------------------- */

  // A third-party iframe may be refused localStorage (Chromium throws "Access is
  // denied" when third-party storage is blocked). Such a frame keeps its token with
  // the host page instead (host.js), and everything else in memory for this page.
  sd.ownStorage = (() => {
    try {
      const probe = "supportdesk:probe";
      window.localStorage.setItem(probe, "1");
      window.localStorage.removeItem(probe);
      return true;
    } catch (error) {
      return false;
    }
  })();

  const memory = new Map();
  sd.store = {
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
  sd.TOKEN_KEY = "supportdesk:" + config.inbox + ":token";
  // The highest seq the visitor has looked at, so agent replies that arrived
  // between two pages of the host site still count as unread.
  sd.SEEN_KEY = "supportdesk:" + config.inbox + ":seen";

  /* ---- The conversation ------------------------------------------------- */

  const state = (sd.state = {
    token: sd.store.get(sd.TOKEN_KEY),
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
  });
  const storedSeen = sd.store.get(sd.SEEN_KEY);
  if (state.token && /^\d+$/.test(storedSeen || "")) state.seenSeq = Number(storedSeen);

  /* ---- Timing ----------------------------------------------------------- */

  sd.backoff = function backoff(tries) {
    const ceiling = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** tries);
    return ceiling / 2 + Math.random() * (ceiling / 2);
  };

  sd.retryAfterMs = function retryAfterMs(data) {
    const seconds = Number(data && data.retry_after);
    return (Number.isFinite(seconds) && seconds > 0 ? seconds : 5) * 1000;
  };
})();
