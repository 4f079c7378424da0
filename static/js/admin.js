/* Admin pages: copy buttons, confirmations before destructive posts, the colour
 * picker kept in step with its text field, and the focus kept on a move button
 * across its reload. Plain JS; every form works without it. */
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    const copy = event.target.closest("[data-copy]");
    if (!copy) return;
    const source = document.getElementById(copy.dataset.copy);
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      const label = copy.textContent;
      copy.textContent = "✓";
      setTimeout(function () { copy.textContent = label; }, 1200);
    });
  });

  document.addEventListener("submit", function (event) {
    const button = event.submitter && event.submitter.closest("[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });

  // Buttons that reload the same page (moving a chatbot's node or option up or down)
  // get the focus back afterwards, so a keyboard user can press Enter again.
  document.addEventListener("submit", function (event) {
    const button = event.submitter && event.submitter.closest("[data-keep-focus]");
    if (button && !event.defaultPrevented) sessionStorage.setItem("admin-focus", button.id);
  });
  window.addEventListener("load", function restoreFocus() {  // after the jump to #node-…
    const id = sessionStorage.getItem("admin-focus");
    sessionStorage.removeItem("admin-focus");
    let button = id && document.getElementById(id);
    if (button && button.disabled) {  // moved to an end: the other arrow is the one still useful
      const other = /-down$/.test(id) ? id.replace(/-down$/, "-up") : id.replace(/-up$/, "-down");
      button = document.getElementById(other);
    }
    if (button && !button.disabled) button.focus({ preventScroll: true });
  });

  document.querySelectorAll("input[type=color][data-color-for]").forEach(function (picker) {
    const text = document.getElementById(picker.dataset.colorFor);
    if (!text) return;
    picker.addEventListener("input", function () { text.value = picker.value; });
    text.addEventListener("input", function () {
      if (/^#[0-9a-fA-F]{6}$/.test(text.value)) picker.value = text.value;
    });
  });
})();
