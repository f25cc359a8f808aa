/*
 * The ticket page: the reply / note / call / resolve boxes, their shortcuts, the
 * live timeline, who else is on the ticket, and on a chat ticket the visitor
 * typing and the read receipts the visitor sees.
 *
 * Leans on desk.js (window.desk.socket, window.desk.shortcuts, "desk:event") and
 * htmx; the page works without them, only without the live parts.
 */
(function () {
  "use strict";

  const root = document.getElementById("ticket-page");
  if (!root) return;
  const ticketId = Number(root.dataset.ticketId);
  const customerId = Number(root.dataset.customerId);
  const agentId = Number(root.dataset.agentId);
  const isChat = root.dataset.channel === "chat";
  // A typing notice at most this often while the reply box changes.
  const TYPING_EVERY_MS = 2500;
  // Without a fresh notice, a colleague who was typing is only viewing again.
  const TYPING_FADES_MS = 6000;
  const TICKET_CHANGES = new Set(["ticket.updated", "ticket.routed", "ticket.reassigned"]);

  const socket = () => (window.desk && window.desk.socket) || null;

  /* ---------------------------------------------------------------- boxes */

  const FIELDS = {
    reply: "reply-text",
    note: "note-text",
    call: "call-number",
    resolve: "resolve-text",
  };
  const tabs = Array.from(root.querySelectorAll('.composer-tabs [role="tab"]'));

  function showBox(name, focus) {
    for (const tab of tabs) {
      const selected = tab.id === "tab-" + name;
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      const panel = document.getElementById(tab.getAttribute("aria-controls"));
      if (panel) panel.hidden = !selected;
    }
    if (focus) {
      const field = document.getElementById(FIELDS[name]);
      if (field) field.focus();
    }
  }

  for (const tab of tabs) {
    tab.addEventListener("click", () => showBox(tab.id.slice("tab-".length), true));
    tab.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
      const step = event.key === "ArrowRight" ? 1 : tabs.length - 1;
      const next = tabs[(tabs.indexOf(tab) + step) % tabs.length];
      showBox(next.id.slice("tab-".length), false);
      next.focus();
    });
  }

  if (window.desk && window.desk.shortcuts) {
    const register = window.desk.shortcuts.register;
    register("r", "Reply to the customer", () => showBox("reply", true));
    register("n", "Write an internal note", () => showBox("note", true));
    register("c", "Log a phone call", () => showBox("call", true));
    register("e", "Resolve, with a resolution note", () => showBox("resolve", true));
  }

  /* The channel picked decides whether the template form is offered. */
  function syncReplyChannel() {
    const select = document.getElementById("reply-channel");
    if (!select) return;
    const option = select.selectedOptions[0];
    const closed = option && option.dataset.windowOpen === "0";
    const hint = document.querySelector("#reply-box .window-hint");
    if (hint) hint.hidden = !closed;
    for (const offer of document.querySelectorAll("#reply-box .template-offer")) {
      offer.hidden = !(closed && offer.dataset.channel === select.value);
    }
  }
  document.addEventListener("change", (event) => {
    if (event.target && event.target.id === "reply-channel") syncReplyChannel();
  });

  /* --------------------------------------------------------------- timeline */

  const timeline = document.getElementById("timeline");

  function newestShownId() {
    let newest = 0;
    for (const item of timeline.querySelectorAll("li[data-event-id]")) {
      newest = Math.max(newest, Number(item.dataset.eventId));
    }
    return newest;
  }

  // Nothing composed yet: whatever the timeline shows counts as seen. A draft
  // keeps the id it was written against, so the server can stop a stale reply.
  function markSeen() {
    const text = document.getElementById("reply-text");
    const seen = document.querySelector('#reply-box input[name="seen_event_id"]');
    if (!seen || (text && text.value.trim())) return;
    seen.value = String(Math.max(Number(seen.value) || 0, newestShownId()));
  }

  let loading = false;
  let pendingAfter = null;

  // Fetch events with ids above `after`: new ones go on top, changed ones (a
  // delivery status) are replaced where they stand.
  async function loadEvents(after) {
    if (loading) {
      pendingAfter = pendingAfter === null ? after : Math.min(pendingAfter, after);
      return;
    }
    loading = true;
    try {
      const url = root.dataset.timelineUrl + "?after=" + encodeURIComponent(after);
      const response = await fetch(url, {
        headers: { "HX-Request": "true" },
        credentials: "same-origin",
      });
      if (!response.ok) return;
      const holder = document.createElement("template");
      holder.innerHTML = await response.text();
      const items = Array.from(holder.content.querySelectorAll("li[data-event-id]"));
      // Newest first in the answer: insert from the oldest so the newest ends on top.
      for (const item of items.reverse()) {
        const shown = document.getElementById(item.id);
        if (shown) {
          if (shown.outerHTML !== item.outerHTML) shown.replaceWith(item);
        } else {
          item.classList.add("arrived");
          timeline.prepend(item);
        }
      }
      markSeen();
    } catch (error) {
      // The next event or action tries again.
    } finally {
      loading = false;
      if (pendingAfter !== null) {
        const next = pendingAfter;
        pendingAfter = null;
        loadEvents(next);
      }
    }
  }

  let headerTimer = null;
  function refreshHeader() {
    window.clearTimeout(headerTimer);
    headerTimer = window.setTimeout(async () => {
      const header = document.getElementById("ticket-header");
      // Never pull a control from under the agent's hand.
      if (!header || header.contains(document.activeElement)) return;
      const response = await fetch(root.dataset.headerUrl, {
        headers: { "HX-Request": "true" },
        credentials: "same-origin",
      });
      if (!response.ok) return;
      const holder = document.createElement("template");
      holder.innerHTML = (await response.text()).trim();
      const fresh = holder.content.firstElementChild;
      if (!fresh || fresh.outerHTML === header.outerHTML) return;
      header.replaceWith(fresh);
      if (window.htmx) window.htmx.process(fresh);
    }, 150);
  }

  // The page's own actions answer with this trigger.
  document.addEventListener("desk:timeline-changed", () => loadEvents(newestShownId()));

  document.addEventListener("desk:event", (event) => {
    const detail = event.detail || {};
    if (detail.type === "presence") {
      if (detail.ticket_id === ticketId) onPresence(detail);
      return;
    }
    if (detail.type === "visitor_typing") {
      if (detail.ticket_id === ticketId) onVisitorTyping(detail);
      return;
    }
    const ours = detail.ticket_id === ticketId || detail.customer_id === customerId;
    if (!ours) return;
    if (detail.event_id) {
      const known = document.getElementById("event-" + detail.event_id);
      loadEvents(known ? detail.event_id - 1 : newestShownId());
    }
    if (detail.ticket_id === ticketId && TICKET_CHANGES.has(detail.type)) refreshHeader();
    if (
      detail.type === "message.created" &&
      detail.ticket_id === ticketId &&
      detail.kind === "message_in"
    ) {
      // What the visitor sent ends their typing, and is read if the page is seen.
      onVisitorTyping({ typing: false });
      sendSeen();
    }
  });

  /* htmx swaps only 2xx answers by default: an inline error (422) and a held
     reply (409) are answers to show, not failures. */
  document.addEventListener("htmx:beforeSwap", (event) => {
    const status = event.detail.xhr.status;
    if (status === 409 || status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.target && event.target.id === "reply-box") syncReplyChannel();
  });

  /* --------------------------------------------------------------- presence */

  const present = new Map();

  function onPresence(detail) {
    if (detail.agent_id === agentId) return;
    const previous = present.get(detail.agent_id);
    if (previous) window.clearTimeout(previous.timer);
    if (detail.state === "left") {
      present.delete(detail.agent_id);
    } else {
      const entry = { name: detail.name, state: detail.state, timer: null };
      if (detail.state === "typing") {
        entry.timer = window.setTimeout(() => {
          entry.state = "viewing";
          renderPresence();
        }, TYPING_FADES_MS);
      }
      present.set(detail.agent_id, entry);
    }
    renderPresence();
  }

  function renderPresence() {
    const box = document.getElementById("presence");
    if (!box) return;
    const people = Array.from(present.entries()).sort((a, b) =>
      a[1].name.localeCompare(b[1].name)
    );
    const items = [];
    if (visitorTyping) {
      // The name is the visitor's own words: text only.
      const item = document.createElement("span");
      item.className = "presence-visitor";
      item.dataset.testid = "visitor-typing";
      item.textContent = visitorTyping.name + " is typing…";
      items.push(item);
    }
    for (const [id, entry] of people) {
      const item = document.createElement("span");
      item.className = "presence-agent presence-" + entry.state;
      item.dataset.agentId = String(id);
      item.textContent =
        entry.name + (entry.state === "typing" ? " is typing…" : " is viewing");
      items.push(item);
    }
    box.replaceChildren(...items);
    box.hidden = items.length === 0;
  }

  /* --------------------------------------------------- the chat visitor */

  // Shown like a colleague typing, until the widget says the visitor stopped or
  // goes quiet for as long as a colleague's notice lasts.
  let visitorTyping = null;

  function onVisitorTyping(detail) {
    if (visitorTyping) window.clearTimeout(visitorTyping.timer);
    const wasShown = visitorTyping !== null;
    visitorTyping = null;
    if (detail.typing) {
      visitorTyping = {
        name: String(detail.name || "The visitor"),
        timer: window.setTimeout(() => {
          visitorTyping = null;
          renderPresence();
        }, TYPING_FADES_MS),
      };
      showVisitorHere();
    }
    if (wasShown || visitorTyping) renderPresence();
  }

  // A visitor who types has the widget open, whatever the header said on load.
  function showVisitorHere() {
    const state = document.querySelector('#ticket-header [data-field="visitor-state"]');
    if (!state || state.classList.contains("visitor-online")) return;
    state.className = "visitor-state visitor-online";
    state.removeAttribute("title");
    state.textContent = "widget open";
  }

  // The visitor's messages count as read while an agent has the page in view:
  // when one arrives then, and when the agent comes back to the tab.
  function sendSeen() {
    const desk = socket();
    if (!isChat || !desk || document.visibilityState !== "visible") return;
    desk.send({ action: "seen", ticket_id: ticketId });
  }
  document.addEventListener("visibilitychange", sendSeen);

  /* Typing notices, throttled; "viewing" again once the box is left empty. */
  let lastTyping = 0;
  let typingShown = false;
  document.addEventListener("input", (event) => {
    if (!event.target || event.target.id !== "reply-text") return;
    const desk = socket();
    if (!desk) return;
    const hasText = event.target.value.trim() !== "";
    const now = Date.now();
    if (hasText && now - lastTyping >= TYPING_EVERY_MS) {
      lastTyping = now;
      typingShown = true;
      desk.send({ action: "typing", ticket_id: ticketId });
    } else if (!hasText && typingShown) {
      typingShown = false;
      lastTyping = 0;
      desk.send({ action: "typing", ticket_id: ticketId, typing: false });
    }
  });

  /* ------------------------------------------------------------------ start */

  syncReplyChannel();
  const desk = socket();
  if (desk) {
    if (typeof desk.watch === "function") desk.watch(ticketId);
    else desk.send({ action: "watch_ticket", ticket_id: ticketId });
    window.addEventListener("pagehide", () => {
      if (typeof desk.unwatch === "function") desk.unwatch();
    });
  }
})();
