// A team's queue: the header box selects or clears every ticket shown.
document.addEventListener("change", function (event) {
  if (!event.target.matches("[data-select-all]")) return;
  document.querySelectorAll("#team-queue input[name=ticket]").forEach(function (box) { box.checked = event.target.checked; });
});
