/*
 * The widget's look and status lines, and the visitor's session: who the desk
 * says the visitor is, the pre-chat form, and the email asked for while nobody
 * is at the desk.
 */
(function (sd) {
  "use strict";

  const { config, state, ui } = sd;

  /* ---- Look ------------------------------------------------------------- */

  sd.applyLook = function applyLook() {
    const color = config.color;
    if (typeof color === "string" && window.CSS && CSS.supports("color", color)) {
      document.documentElement.style.setProperty("--sd-color", color);
      document.documentElement.style.setProperty("--sd-on-color", textColorOn(color));
    }
    ui.close.hidden = !sd.embedded;
    ui.greeting.hidden = !config.greeting;
    ui.prechatGreeting.hidden = !config.greeting;
    if (!config.upload_url) ui.attach.hidden = true;
    if (Array.isArray(config.upload_types) && config.upload_types.length) {
      ui.attachInput.accept = config.upload_types.join(",");
    }
  };

  function textColorOn(color) {
    const match = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color);
    if (!match) return "#fff";
    let hex = match[1];
    if (hex.length === 3) hex = hex.replace(/./g, "$&$&");
    const [r, g, b] = [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
    const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    return luminance > 0.6 ? "#111827" : "#fff";
  }
  sd.textColorOn = textColorOn;

  sd.setStatus = function setStatus(status) {
    const texts = {
      connecting: "Connecting…",
      open: "Connected",
      closed: navigator.onLine === false ? "You are offline. Reconnecting…" : "Reconnecting…",
      idle: "",
    };
    ui.status.dataset.state = status;
    ui.status.textContent = texts[status];
  };

  let bannerTimer = null;
  sd.showBanner = function showBanner(text) {
    ui.banner.textContent = text;
    ui.banner.hidden = false;
    window.clearTimeout(bannerTimer);
    bannerTimer = window.setTimeout(() => (ui.banner.hidden = true), 8000);
  };

  function showError(element, text) {
    element.textContent = text || "";
    element.hidden = !text;
  }
  sd.showError = showError;

  function updateOffline() {
    const offline = !state.agentsOnline;
    ui.offline.hidden = !offline;
    const hasEmail = Boolean(state.visitor && state.visitor.email);
    ui.emailForm.hidden = !(offline && state.screen === "chat" && !hasEmail);
    ui.subtitle.textContent = offline ? "Away: replies come by email" : "Online";
  }
  sd.updateOffline = updateOffline;

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
    sd.setStatus("connecting");
    const body = Object.assign({ user: sd.identityUser() }, fields || {});
    if (body.user && state.identity) {
      if (state.identity.name && !body.name) body.name = state.identity.name;
      if (state.identity.email && !body.email) body.email = state.identity.email;
    }
    let result;
    try {
      result = await postSession(body);
    } catch (error) {
      retrySessionLater(sd.backoff(sessionAttempt++));
      return;
    }
    if (result.status === 403 && body.user) {
      // A refused identity (forged or stale): chat on as an anonymous visitor.
      state.identityRefused = true;
      startSession(fields);
      return;
    }
    if (result.status === 429) {
      retrySessionLater(sd.retryAfterMs(result.data));
      return;
    }
    if (result.status !== 200 || !result.data.token) {
      sd.showBanner(result.data.message || "The chat could not start. Retrying…");
      retrySessionLater(sd.backoff(sessionAttempt++));
      return;
    }
    sessionAttempt = 0;
    applySession(result.data);
    route();
  }
  sd.startSession = startSession;

  function retrySessionLater(delay) {
    sd.setStatus("closed");
    window.setTimeout(() => startSession(), delay);
  }

  function applySession(data) {
    const visitor = data.visitor || {};
    // The token is signed afresh on every call; only another visitor (a new
    // sign-in on the host site, say) means another conversation.
    if (visitor.id !== (state.visitor || {}).id) {
      if (state.seqs.length) sd.resetConversation();
      sd.store.remove(sd.SEEN_KEY);
      state.seenSeq = null;
    }
    if (data.token !== state.token) {
      sd.keepToken(data.token);
      state.token = data.token;
    }
    state.visitor = visitor;
    state.agentsOnline = data.agents_online !== false;
  }

  function route() {
    const visitor = state.visitor;
    const needsEmail = !state.agentsOnline && !visitor.email;
    if (visitor.needs_prechat || (needsEmail && state.screen !== "chat")) {
      showPrechat();
    } else {
      showChat();
      sd.connect();
    }
    updateOffline();
  }

  function showPrechat() {
    state.screen = "prechat";
    ui.prechat.hidden = false;
    ui.chat.hidden = true;
    sd.setStatus("idle");
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
      result = await postSession(Object.assign({ user: sd.identityUser() }, fields));
    } catch (error) {
      return "No connection. Please try again.";
    }
    if (result.status === 429) {
      return "Too many attempts. Try again in " + sd.retryAfterMs(result.data) / 1000 + " s.";
    }
    if (result.status !== 200 || !result.data.token) {
      return result.data.message || "That did not work. Please check the fields.";
    }
    applySession(result.data);
    if (state.visitor.needs_prechat) return "Please fill in the fields above.";
    if (state.screen !== "chat") {
      showChat();
      sd.connect();
    }
    updateOffline();
    return "";
  }
})(window.SupportDeskWidget);
