/* Admin pages: copy buttons, confirmations before destructive posts, and the colour
 * picker kept in step with its text field. Plain JS; every form works without it. */
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

  document.querySelectorAll("input[type=color][data-color-for]").forEach(function (picker) {
    const text = document.getElementById(picker.dataset.colorFor);
    if (!text) return;
    picker.addEventListener("input", function () { text.value = picker.value; });
    text.addEventListener("input", function () {
      if (/^#[0-9a-fA-F]{6}$/.test(text.value)) picker.value = text.value;
    });
  });
})();
