/*
 * The last of the widget's scripts: the close controls, then the start. The frame
 * tells the host page it is ready ("config"), waits briefly for the signed-in user
 * (and a token the host page keeps for it), and opens the session.
 */
(function (sd) {
  "use strict";

  const { config, state, ui } = sd;

  ui.close.addEventListener("click", () => {
    sd.setOpen(false);
    sd.toHost({ type: "close" });
  });

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && sd.embedded && state.open) {
      sd.setOpen(false);
      sd.toHost({ type: "close" });
    }
  });

  sd.applyLook();
  const ready = {
    type: "config",
    color: config.color,
    position: config.position,
    title: config.title,
  };
  if (sd.tokenWithHost) ready.keep_token = true;
  sd.toHost(ready);

  sd.identified().then(() => sd.startSession());
})(window.SupportDeskWidget);
