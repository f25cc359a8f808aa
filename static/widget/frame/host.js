/*
 * The host page: messages to and from the loader on the site that embeds the
 * widget, always to and from the site's verified origin; the signed-in user the
 * site names; and the visitor's token, kept with the site when this frame is
 * refused storage of its own (see loader.js for the messages).
 */
(function (sd) {
  "use strict";

  const { config, state, ui } = sd;
  const IDENTIFY_WAIT_MS = 300;
  // The server's own bound on a token.
  const MAX_TOKEN_CHARS = 512;

  const embedded = window.parent !== window;
  const hostOrigin = (() => {
    const claimed = new URLSearchParams(window.location.search).get("host");
    const allowed = (config.allowed_origins || []).concat([window.location.origin]);
    return claimed && allowed.indexOf(claimed) !== -1 ? claimed : null;
  })();
  sd.embedded = embedded;
  sd.hostOrigin = hostOrigin;
  state.open = !embedded;
  // Only a frame without storage asks the host page to keep its token: the host
  // page's storage is readable by the host site's scripts, the frame's is not.
  const tokenWithHost = !sd.ownStorage && embedded && Boolean(hostOrigin);
  sd.tokenWithHost = tokenWithHost;

  sd.toHost = function toHost(message) {
    if (!embedded || !hostOrigin) return;
    message.source = "supportdesk-widget";
    window.parent.postMessage(message, hostOrigin);
  };

  let identifyWaiter = null;
  // Until the first session request: a token restored later would lose to it.
  let starting = true;
  window.addEventListener("message", (event) => {
    if (!hostOrigin || event.source !== window.parent || event.origin !== hostOrigin) return;
    const message = event.data;
    if (!message || message.source !== "supportdesk-host") return;
    if (message.type === "open") sd.setOpen(true);
    else if (message.type === "close") sd.setOpen(false);
    else if (message.type === "identify") onIdentify(message.user);
    else if (message.type === "restore") onRestore(message.token);
  });

  sd.setOpen = function setOpen(open) {
    state.open = open;
    if (!open) return;
    sd.markSeen();
    sd.scheduleReceipt();
    if (state.screen === "prechat") ui.name.focus();
    else if (state.screen === "chat") {
      sd.scrollToBottom();
      ui.input.focus();
    }
  };

  function onIdentify(user) {
    if (!user || typeof user !== "object" || !user.id || !user.hash) return;
    const changed = !state.identity || String(state.identity.id) !== String(user.id);
    state.identity = user;
    if (identifyWaiter) identifyWaiter();
    else if (changed && !state.identityRefused && state.screen) {
      // Signed in after the chat started: the session becomes the verified one.
      sd.closeSocket();
      sd.startSession();
    }
  }

  sd.identityUser = function identityUser() {
    if (!state.identity || state.identityRefused) return null;
    const { id, hash, ts } = state.identity;
    return { id, hash, ts };
  };

  // The host sends "identify" right after "config" when its visitor is signed in,
  // and "restore" before it when it keeps this frame's token.
  sd.identified = function identified() {
    return new Promise((resolve) => {
      if (!embedded || !hostOrigin) {
        resolve();
        return;
      }
      identifyWaiter = resolve;
      window.setTimeout(resolve, IDENTIFY_WAIT_MS);
    }).then(() => {
      identifyWaiter = null;
      starting = false;
    });
  };

  /* ---- The token kept with the host page -------------------------------- */

  function onRestore(token) {
    if (!tokenWithHost || !starting || state.token) return;
    if (typeof token !== "string" || !token || token.length > MAX_TOKEN_CHARS) return;
    state.token = token;
    sd.store.set(sd.TOKEN_KEY, token);
  }

  // The frame's own storage when it works; otherwise memory for this page and the
  // host page's storage for the next one. No token (null) clears both.
  sd.keepToken = function keepToken(token) {
    if (token) sd.store.set(sd.TOKEN_KEY, token);
    else sd.store.remove(sd.TOKEN_KEY);
    if (tokenWithHost) sd.toHost({ type: "store", token: token || null });
  };
})(window.SupportDeskWidget);
