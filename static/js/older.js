/* Older messages, loaded as one scrolls up (issue 13, part 3): a button[data-older] at the
 * top of a conversation or of the contact's history names the page before it (keyset on the
 * message id). Scrolling it into view, or pressing it, fetches that page and puts it in the
 * button's place, keeping what one was reading where it was. */
(function () {
  "use strict";

  function scroller(element) {
    for (let node = element.parentElement; node; node = node.parentElement) {
      const computed = getComputedStyle(node);
      if (/(auto|scroll)/.test(computed.overflowY) && node.scrollHeight > node.clientHeight) return node;
    }
    return document.scrollingElement || document.documentElement;
  }

  function load(button) {
    if (button.dataset.loading) return;
    button.dataset.loading = "1";
    button.disabled = true;
    const box = scroller(button);
    fetch(button.dataset.older, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        const fromBottom = box.scrollHeight - box.scrollTop;
        const template = document.createElement("template");
        template.innerHTML = html.trim();
        button.replaceWith(template.content);
        box.scrollTop = box.scrollHeight - fromBottom;  // the same message stays in view
        watch(document);
      })
      .catch(function () {
        delete button.dataset.loading;
        button.disabled = false;
      });
  }

  const observer = "IntersectionObserver" in window ? new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (entry.isIntersecting) { observer.unobserve(entry.target); load(entry.target); }
    });
  }) : null;

  function watch(root) {
    root.querySelectorAll("button[data-older]:not([data-watched])").forEach(function (button) {
      button.dataset.watched = "1";
      button.addEventListener("click", function () { load(button); });
      // Only once the reader has scrolled: a conversation opens at its end, so the button is
      // out of view until one scrolls up to it.
      if (observer) setTimeout(function () { observer.observe(button); }, 300);
    });
  }

  function start() {
    watch(document);
    // The conversation pane is swapped in place after a move (live.js): watch what arrives.
    new MutationObserver(function () { watch(document); })
      .observe(document.body, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
