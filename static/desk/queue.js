/*
 * The queue page: live rows from desk events, and keyboard movement.
 *
 * A ticket event fetches that one row under the page's filters and puts it in
 * place: replaced where it is, inserted in id order when new, removed when the
 * server answers 204 (the ticket left this queue). Nothing else is redrawn.
 */
(function () {
  "use strict";

  const LIVE_TYPES = new Set([
    "ticket.created",
    "ticket.routed",
    "ticket.reassigned",
    "ticket.updated",
    "message.created",
    "timeline.event_created",
  ]);
  // Events of one change arrive together (a message and its routing): one fetch.
  const SETTLE_MS = 150;

  const queue = document.getElementById("queue");
  const body = document.getElementById("queue-body");
  const form = document.getElementById("queue-filters");
  if (!queue || !body || !form) return;

  const pending = new Map();
  let selectedId = null;

  function rows() {
    return Array.from(body.querySelectorAll("tr.ticket-row"));
  }

  function rowUrl(ticketId) {
    const base = queue.dataset.rowUrl.replace(/\/0\/$/, "/" + ticketId + "/");
    const params = new URLSearchParams(new FormData(form));
    return base + "?" + params.toString();
  }

  function schedule(ticketId) {
    if (pending.has(ticketId)) window.clearTimeout(pending.get(ticketId));
    pending.set(
      ticketId,
      window.setTimeout(() => {
        pending.delete(ticketId);
        refreshRow(ticketId);
      }, SETTLE_MS)
    );
  }

  async function refreshRow(ticketId) {
    let response;
    try {
      response = await fetch(rowUrl(ticketId), {
        credentials: "same-origin",
        headers: { "HX-Request": "true" },
      });
    } catch (error) {
      return; // offline for a moment: the next event or a reload brings it
    }
    const existing = document.getElementById("queue-ticket-" + ticketId);
    if (response.status === 204) {
      if (existing) removeRow(existing);
      return;
    }
    if (!response.ok) return;
    const template = document.createElement("template");
    template.innerHTML = (await response.text()).trim();
    const fresh = template.content.querySelector("tr.ticket-row");
    if (!fresh) return;
    if (existing) {
      if (existing.innerHTML === fresh.innerHTML) return;
      // Keep the element (and the selection on it); change only its cells.
      existing.replaceChildren(...fresh.childNodes);
      existing.dataset.href = fresh.dataset.href;
      highlight(existing);
    } else if (insertInOrder(fresh)) {
      highlight(fresh);
    }
    if (window.htmx) window.htmx.process(existing || fresh);
  }

  function insertInOrder(row) {
    const id = Number(row.dataset.ticketId);
    const after = rows().find((other) => Number(other.dataset.ticketId) < id);
    if (after) {
      body.insertBefore(row, after);
    } else if (body.querySelector("tr.more")) {
      // Older than every loaded row: it belongs to a page not loaded yet.
      return false;
    } else {
      body.appendChild(row);
    }
    const empty = body.querySelector("tr.empty");
    if (empty) empty.remove();
    return true;
  }

  function removeRow(row) {
    if (row.classList.contains("selected")) {
      const next = row.nextElementSibling || row.previousElementSibling;
      selectedId = null;
      if (next && next.classList.contains("ticket-row")) select(next);
    }
    row.remove();
  }

  function highlight(row) {
    row.classList.remove("arrived");
    // Reading layout restarts the animation on a row that changes twice.
    void row.offsetWidth;
    row.classList.add("arrived");
  }

  document.addEventListener("desk:event", (event) => {
    const detail = event.detail || {};
    if (LIVE_TYPES.has(detail.type) && detail.ticket_id) schedule(detail.ticket_id);
  });

  /* Ages keep counting while the page stays open (same units as the server's). */
  function age(moment) {
    const seconds = Math.max(0, (Date.now() - moment.getTime()) / 1000);
    for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]]) {
      if (seconds >= size) return Math.floor(seconds / size) + unit;
    }
    return "now";
  }

  window.setInterval(() => {
    for (const time of body.querySelectorAll("td.age time[datetime]")) {
      const moment = new Date(time.getAttribute("datetime"));
      if (!Number.isNaN(moment.getTime())) time.textContent = age(moment);
    }
  }, 60000);

  /* Selection and the keyboard */
  function select(row) {
    for (const other of body.querySelectorAll("tr.selected")) other.classList.remove("selected");
    if (!row) return;
    row.classList.add("selected");
    selectedId = row.dataset.ticketId;
    row.scrollIntoView({ block: "nearest" });
  }

  function selectedRow() {
    return selectedId ? document.getElementById("queue-ticket-" + selectedId) : null;
  }

  function move(step) {
    const all = rows();
    if (!all.length) return;
    const index = all.indexOf(selectedRow());
    const next = index < 0 ? 0 : Math.max(0, Math.min(all.length - 1, index + step));
    select(all[next]);
  }

  function open(row) {
    if (row && row.dataset.href) window.location.assign(row.dataset.href);
  }

  body.addEventListener("click", (event) => {
    const row = event.target.closest("tr.ticket-row");
    if (!row || event.target.closest("a, button")) return;
    select(row);
    open(row);
  });

  // A new list from the filters starts without a selection.
  body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target === body) select(null);
    else if (!selectedRow()) selectedId = null;
  });

  if (window.desk && window.desk.shortcuts) {
    const shortcuts = window.desk.shortcuts;
    shortcuts.register("j", "Next ticket", () => move(1));
    shortcuts.register("k", "Previous ticket", () => move(-1));
    shortcuts.register("Enter", "Open the selected ticket", () => open(selectedRow()));
    shortcuts.register("o", "Open the selected ticket", () => open(selectedRow()));
    shortcuts.register("/", "Search the queue", () => {
      const search = document.getElementById("queue-search");
      search.focus();
      search.select();
    });
  }
})();
