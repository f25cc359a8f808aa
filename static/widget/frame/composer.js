/*
 * The visitor's side of the conversation: the composer, the typing signal sent
 * to the desk, messages pending until the desk numbers them (kept and resent
 * across reconnects, with their client ids), and file uploads.
 */
(function (sd) {
  "use strict";

  const { config, state, ui } = sd;
  const TYPING_EVERY_MS = 3000;
  const TYPING_IDLE_MS = 4000;

  /* ---- Typing ----------------------------------------------------------- */

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
    if (now - typingSentAt >= TYPING_EVERY_MS && sd.send({ type: "typing", typing: true })) {
      typingSentAt = now;
      typingActive = true;
    }
    typingIdleTimer = window.setTimeout(() => stopTyping(true), TYPING_IDLE_MS);
  }

  function stopTyping(tell) {
    window.clearTimeout(typingIdleTimer);
    if (typingActive && tell) sd.send({ type: "typing", typing: false });
    typingActive = false;
    typingSentAt = 0;
  }
  sd.stopTyping = stopTyping;

  /* ---- Pending messages ------------------------------------------------- */

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
    const bubble = sd.bubbleFor(text, attachments);
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
    sd.scheduleRefresh();
    sd.scrollToBottom();
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
  sd.setPendingStatus = setPendingStatus;

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
    if (sd.hostOrigin && sd.embedded) message.host = sd.hostOrigin;
    sd.send(message);
  }
  sd.sendPending = sendPending;

  function retryPending(item) {
    setPendingStatus(item, "pending");
    if (item.file) upload(item);
    else sendPending(item);
  }

  function removePending(item) {
    item.row.remove();
    state.pending.delete(item.clientId);
    sd.scheduleRefresh();
    ui.input.focus();
  }

  function editPending(item) {
    const current = ui.input.value;
    ui.input.value = current ? current + "\n" + item.text : item.text;
    removePending(item);
    autosize();
  }

  /* ---- Composer --------------------------------------------------------- */

  function submitComposer() {
    const text = ui.input.value.trim();
    if (!text || state.screen !== "chat") return;
    const limit = Number(config.max_message_chars) || 0;
    if (limit && text.length > limit) {
      sd.showBanner("That message is too long: at most " + limit + " characters fit.");
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
      sd.showBanner("That file is too large (at most " + sd.humanSize(limit) + ").");
      return;
    }
    const types = config.upload_types;
    if (Array.isArray(types) && types.length && types.indexOf(file.type) === -1) {
      sd.showBanner("Files of that type cannot be sent.");
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
      text = "Too many files. Try again in " + sd.retryAfterMs(data) / 1000 + " s.";
    }
    setPendingStatus(item, "failed", text, data.error);
  }
})(window.SupportDeskWidget);
