/* A past ticket beside the current conversation (issue 13, part 3): a link of the side
 * panel's history with data-beside fetches that ticket's read-only pane and puts it in the
 * workspace next to the conversation, whose composer stays as it was. The close button or
 * Esc takes it away and gives the focus back to the link. Older messages load on scrolling
 * up (older.js watches what arrives). Without this script the link opens the history page. */
(function () {
  "use strict";

  let opener = null;

  function workspace() { return document.querySelector(".workspace"); }
  function pane() { return document.getElementById("beside-pane"); }

  function close() {
    const shown = pane();
    if (!shown) return;
    shown.remove();
    const ws = workspace();
    if (ws) ws.classList.remove("has-beside");
    document.querySelectorAll("a[data-beside][aria-expanded]").forEach(function (a) { a.removeAttribute("aria-expanded"); });
    const back = opener && document.body.contains(opener) ? opener : document.querySelector("#contact-history a[data-beside]");
    opener = null;
    if (back) back.focus();
  }

  function open(link) {
    const ws = workspace();
    if (!ws) { window.location.href = link.href; return; }
    fetch(link.dataset.beside, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        const template = document.createElement("template");
        template.innerHTML = html.trim();
        const fresh = template.content.firstElementChild;
        const shown = pane();
        if (shown) shown.replaceWith(fresh); else ws.appendChild(fresh);
        ws.classList.add("has-beside");
        document.querySelectorAll("a[data-beside][aria-expanded]").forEach(function (a) { a.removeAttribute("aria-expanded"); });
        link.setAttribute("aria-expanded", "true");
        opener = link;
        const messages = fresh.querySelector(".beside-messages");
        if (messages) messages.scrollTop = messages.scrollHeight;  // it opens at its end, as a conversation does
        if (window.Atendimento && window.Atendimento.refreshTimes) window.Atendimento.refreshTimes(fresh);
        fresh.querySelector("[data-beside-close]").focus({ preventScroll: true });
      })
      .catch(function () { window.location.href = link.href; });  // the page says why (404, offline…)
  }

  document.addEventListener("click", function (event) {
    if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    const link = event.target.closest && event.target.closest("a[data-beside]");
    if (link) { event.preventDefault(); open(link); return; }
    if (event.target.closest && event.target.closest("[data-beside-close]")) close();
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.defaultPrevented || !pane()) return;
    if (document.querySelector("dialog[open]")) return;  // Esc closes the dialog first
    // In the composer (or any field outside the pane) Esc is the field's: it blurs, closes a list.
    const target = event.target;
    if (target.closest && !target.closest("#beside-pane") && target.matches("input, textarea, select")) return;
    event.preventDefault();
    close();
  });
})();
