// Live updates on top of plain HTML: countdowns, and a reload when the items change.
// Everything this adds is also reachable without JavaScript (pages refresh or reload).
"use strict";
(function () {
  const body = document.body;
  const skew = Date.now() / 1000 - parseFloat(body.dataset.now || "0");
  const fmt = (s) => {
    s = Math.max(0, Math.round(s));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(r).padStart(2, "0");
  };
  function tick() {
    const now = Date.now() / 1000 - skew;
    document.querySelectorAll(".countdown[data-due]").forEach((el) => {
      const left = Date.parse(el.dataset.due) / 1000 - now;
      el.textContent = left > 0 ? fmt(left) : "done";
      el.classList.toggle("done", left <= 0);
    });
  }
  if (document.querySelector(".countdown[data-due]")) { tick(); setInterval(tick, 1000); }

  const live = document.getElementById("live");
  function say(text) { if (live) { live.hidden = false; live.textContent = text; } }
  const watching = document.querySelector("[data-live]");
  let pending = null;
  function reloadSoon() {
    // Never reload under someone's fingers: wait while a form field has focus.
    clearTimeout(pending);
    pending = setTimeout(() => {
      const a = document.activeElement;
      if (a && (a.tagName === "INPUT" || a.tagName === "SELECT") && a.value) { reloadSoon(); return; }
      window.location.reload();
    }, 400);
  }
  if (!window.EventSource) return;
  const es = new EventSource("/api/events");
  const kind = watching ? watching.dataset.live : "";
  // Reload only for news: a change this page already shows (made before it was rendered,
  // e.g. by its own form) would otherwise reload it twice.
  const rendered = parseFloat(body.dataset.now || "0");
  ["item.added", "item.changed"].forEach((t) => es.addEventListener(t, (e) => {
    if (kind === "items" && JSON.parse(e.data).updated > rendered) reloadSoon();
  }));
  es.addEventListener("item.removed", (e) => {
    if (kind === "items" && document.getElementById("item-" + JSON.parse(e.data).id)) reloadSoon();
  });
  es.addEventListener("shopping.changed", () => { if (kind === "shopping") reloadSoon(); });
  es.addEventListener("fired", (e) => {
    const ev = JSON.parse(e.data);
    say((ev.type === "timer.done" ? "Timer done" : "Due now") + (ev.subject ? ": " + ev.subject : ""));
  });
  es.addEventListener("overflow", () => es.close());
})();
