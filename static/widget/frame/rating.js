/*
 * Ratings of resolved conversations: the newest "resolved" entry offers 1 to 5
 * stars with a comment; a rated one shows the stars given.
 */
(function (sd) {
  "use strict";

  const { state, ui } = sd;

  sd.refreshRatings = function refreshRatings() {
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
  };

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
      sd.showError(error, "");
      const message = { type: "rate", seq, score, comment: comment.value.trim() };
      state.ratingInFlight = seq;
      state.ratingError = (text) => {
        sd.showError(error, text);
        submit.disabled = false;
        submit.textContent = "Send rating";
      };
      submit.disabled = true;
      submit.textContent = "Sending…";
      if (!sd.send(message)) state.outbox.push(message);
    });
    return form;
  }
})(window.SupportDeskWidget);
