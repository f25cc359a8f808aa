/*
 * The chat widget's embed script, one tag on the host page:
 *   <script src="(desk origin)/static/widget/loader.js" data-inbox="SLUG" async></script>
 * It adds a launcher button and a hidden iframe served by the desk.
 * window.SupportDesk.open() / .close() / .toggle() let the host drive it.
 *
 * postMessage, origin and source checked both ways ("source": "supportdesk-widget"
 * from the frame, "supportdesk-host" to it). Frame to host: config {color,
 * position, title, keep_token} (ready; keep_token: it has no storage of its own),
 * unread {count}, close, and store {token} (after keep_token only: keep the token,
 * or drop it for null, in this page's localStorage as "supportdesk:<slug>:token").
 * Host to frame: open, close, and after each config restore {token|null} (if
 * keep_token) then identify {user} (if data-user-* are set).
 */
(function () {
  "use strict";

  if (window.SupportDesk && window.SupportDesk.loaded) return;

  let script = document.currentScript;
  if (!script || !script.dataset.inbox) {
    script = Array.from(document.querySelectorAll("script[data-inbox][src]"))
      .filter((tag) => /\/static\/widget\/loader(\.\w+)?\.js([?#].*)?$/.test(tag.src))
      .pop();
  }
  if (!script || !script.dataset.inbox) return;

  const data = script.dataset;
  const deskOrigin = new URL(script.src, window.location.href).origin;
  const WIDE = { width: "380px", height: "600px", "max-height": "calc(100vh - 108px)" };
  const FULL = { width: "100%", height: "100%", "max-height": "none" };
  const phone = window.matchMedia("(max-width: 480px)");
  const state = { open: false, ready: false, position: "right", color: "#1f6feb" };
  const KEY = "supportdesk:" + data.inbox + ":token";
  let keep = false;

  function css(element, rules) {
    for (const name in rules) element.style.setProperty(name, rules[name], "important");
  }

  const launcher = document.createElement("button");
  launcher.type = "button";
  launcher.id = "supportdesk-launcher";
  launcher.className = "supportdesk-launcher";
  launcher.setAttribute("data-testid", "supportdesk-launcher");
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "supportdesk-frame");
  css(launcher, {
    position: "fixed", bottom: "20px", width: "56px", height: "56px", margin: "0",
    padding: "0", border: "0", "border-radius": "50%", cursor: "pointer",
    color: "#fff", "z-index": "2147483000", display: "flex",
    "align-items": "center", "justify-content": "center",
    "box-shadow": "0 4px 14px rgba(0,0,0,.22)",
  });

  const svg = "http://www.w3.org/2000/svg";
  const icon = document.createElementNS(svg, "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("width", "26");
  icon.setAttribute("height", "26");
  icon.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(svg, "path");
  path.setAttribute("fill", "currentColor");
  icon.appendChild(path);

  const badge = document.createElement("span");
  badge.setAttribute("aria-hidden", "true");
  css(badge, {
    position: "absolute", top: "-4px", right: "-4px", "min-width": "20px",
    height: "20px", padding: "0 5px", "border-radius": "10px",
    background: "#d92d20", color: "#fff", font: "600 12px/20px system-ui,sans-serif",
    "text-align": "center", "box-sizing": "border-box", display: "none",
  });
  launcher.append(icon, badge);

  const frame = document.createElement("iframe");
  frame.id = "supportdesk-frame";
  frame.className = "supportdesk-frame";
  frame.title = "Chat with support";
  frame.src = deskOrigin + "/widget/" + encodeURIComponent(data.inbox) +
    "/?host=" + encodeURIComponent(window.location.origin);
  css(frame, {
    position: "fixed", border: "0", margin: "0", padding: "0", display: "none",
    background: "#fff", "z-index": "2147483001", "color-scheme": "light",
    "box-shadow": "0 10px 40px rgba(0,0,0,.25)",
  });

  let unread = 0;
  const CHAT = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z";
  const CROSS = "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12 19 17.6 17.6 19 12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z";

  function layout() {
    const side = state.position === "left" ? "left" : "right";
    const other = side === "left" ? "right" : "left";
    launcher.style.removeProperty(other);
    frame.style.removeProperty(other);
    css(launcher, { background: state.color, [side]: "20px" });
    if (phone.matches) {
      css(frame, FULL);
      css(frame, { top: "0", bottom: "0", [side]: "0", "border-radius": "0" });
    } else {
      css(frame, WIDE);
      frame.style.removeProperty("top");
      css(frame, { bottom: "88px", [side]: "20px", "border-radius": "14px" });
    }
    css(frame, { display: state.open ? "block" : "none" });
    path.setAttribute("d", state.open ? CROSS : CHAT);
    launcher.setAttribute("aria-expanded", String(state.open));
    let label = state.open ? "Close chat" : "Open chat";
    if (unread > 0 && !state.open) label += ", " + unread + " unread";
    launcher.setAttribute("aria-label", label);
    badge.textContent = unread > 9 ? "9+" : String(unread);
    css(badge, { display: unread > 0 && !state.open ? "block" : "none" });
  }

  function post(message) {
    if (!state.ready || !frame.contentWindow) return;
    message.source = "supportdesk-host";
    frame.contentWindow.postMessage(message, deskOrigin);
  }

  function setOpen(open) {
    if (state.open === open) return;
    state.open = open;
    layout();
    post({ type: open ? "open" : "close" });
    if (open) frame.focus();
    else if (frame.contains(document.activeElement) || document.activeElement === frame) {
      launcher.focus();
    }
  }

  function identity() {
    if (!data.userId || !data.userHash) return null;
    const user = { id: data.userId, hash: data.userHash };
    user.ts = /^\d+$/.test(data.userTs || "") ? Number(data.userTs) : data.userTs;
    if (data.userName) user.name = data.userName;
    if (data.userEmail) user.email = data.userEmail;
    return user;
  }

  // The frame's kept token: read it, or keep one (null drops it).
  function stored(token) {
    try {
      if (token === undefined) return localStorage.getItem(KEY);
      if (token === null) localStorage.removeItem(KEY);
      else if (typeof token === "string" && token.length <= 512) localStorage.setItem(KEY, token);
    } catch (error) {
      /* no storage here either */
    }
    return null;
  }

  window.addEventListener("message", (event) => {
    if (event.origin !== deskOrigin || event.source !== frame.contentWindow) return;
    const message = event.data;
    if (!message || message.source !== "supportdesk-widget") return;
    if (message.type === "config") {
      if (typeof message.color === "string") state.color = message.color;
      if (message.position === "left" || message.position === "right") {
        state.position = message.position;
      }
      if (typeof message.title === "string" && message.title) frame.title = message.title;
      // Sent on every "config": a reloaded iframe starts from nothing again.
      state.ready = true;
      keep = message.keep_token === true;
      if (keep) post({ type: "restore", token: stored() });
      const user = identity();
      if (user) post({ type: "identify", user: user });
      if (state.open) post({ type: "open" });
    } else if (message.type === "unread") {
      unread = Math.max(0, Number(message.count) || 0);
    } else if (message.type === "close") {
      setOpen(false);
    } else if (message.type === "store" && keep) {
      stored(message.token);
    }
    layout();
  });

  launcher.addEventListener("click", () => setOpen(!state.open));
  if (phone.addEventListener) phone.addEventListener("change", layout);

  layout();
  if (document.body) document.body.append(frame, launcher);
  else document.addEventListener("DOMContentLoaded", () => document.body.append(frame, launcher));

  window.SupportDesk = {
    loaded: true,
    open: () => setOpen(true),
    close: () => setOpen(false),
    toggle: () => setOpen(!state.open),
  };
})();
