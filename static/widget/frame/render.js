/*
 * Entries on the page: each one in its place by seq, messages as bubbles with the
 * agent's avatar, links and attachments, built from text nodes only.
 */
(function (sd) {
  "use strict";

  const { state, ui } = sd;

  // A new visitor (another user signed in, or the token was refused): the old
  // entries go; unsent messages stay and are sent as the new visitor's.
  sd.resetConversation = function resetConversation() {
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
    sd.toHost({ type: "unread", count: 0 });
  };

  sd.addEntry = function addEntry(entry, options) {
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
      sd.hideAgentTyping();
      if (!older && !state.initialSync) sd.agentIsHere();
    }
    if (entry.kind === "rating" && Number.isInteger(entry.rates)) {
      state.ratings.set(entry.rates, entry);
      if (state.ratingInFlight === entry.rates) state.ratingInFlight = null;
    }
    if (stick) state.stick = true;
    sd.scheduleRefresh();
  };

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
  sd.bubbleFor = bubbleFor;

  function avatar(agent) {
    const circle = document.createElement("span");
    circle.className = "avatar";
    circle.setAttribute("aria-hidden", "true");
    circle.textContent = agent.initials || initialsOf(agent.name);
    if (typeof agent.color === "string" && window.CSS && CSS.supports("color", agent.color)) {
      circle.style.backgroundColor = agent.color;
      circle.style.color = sd.textColorOn(agent.color);
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
  sd.humanSize = humanSize;

  /* ---- Scrolling -------------------------------------------------------- */

  function nearBottom() {
    const scroller = ui.scroller;
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  }
  sd.nearBottom = nearBottom;

  sd.scrollToBottom = function scrollToBottom() {
    ui.scroller.scrollTop = ui.scroller.scrollHeight;
  };
})(window.SupportDeskWidget);
