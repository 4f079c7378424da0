/* Quick replies in the composer: "/" at the start opens the list (personal + global),
 * filtered as one types; arrows move, Enter or Tab choose, Esc cancels. The server fills
 * the variables ({{nome}}, {{saudacao}}…) for this ticket, so the composer shows the text
 * exactly as the contact will read it before it is sent. The list and its keys are
 * listbox.js's; a "/word" nothing matches is not sent on Enter, it closes the list. */
(function () {
  "use strict";

  let timer = null;
  let asked = 0;        // answers to older queries are dropped

  function composer() {
    const textarea = document.getElementById("composer");
    const form = textarea && textarea.form;
    return form && form.dataset.quickReplies ? { textarea: textarea, form: form } : null;
  }

  function query(textarea) {
    const match = /^\/(\S*)$/.exec(textarea.value);
    return match ? match[1] : null;
  }

  const box = window.AtendimentoListbox({
    id: "quick-replies",
    className: "quick-replies",
    composer: composer,
    label: function (form) { return form.dataset.quickRepliesLabel || ""; },
    empty: function (form) { return form.dataset.quickRepliesEmpty || ""; },
    optionId: function (item) { return "quick-reply-" + item.id; },
    option: function (item) {
      const shortcut = document.createElement("strong");
      shortcut.textContent = item.shortcut;
      const text = document.createElement("span");
      text.textContent = item.filled;
      return [shortcut, text];
    },
    choose: choose,
  });

  function lookUp(found, q) {
    const ticket = ++asked;
    const url = found.form.dataset.quickReplies + "?q=" + encodeURIComponent(q);
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { items: [] }; })
      .then(function (json) {
        if (ticket !== asked || query(found.textarea) === null) return;
        box.show(found, json.items);
      }, function () { /* offline: the composer keeps working without the list */ });
  }

  function choose(item) {
    const found = composer();
    if (!found || !item) return;
    box.close();
    if (item.media_url && window.AtendimentoFiles) {
      // A reply with a file: the file waits in the tray with the text as its caption, the
      // way the API sends it (one message); both can still be changed before Enviar.
      found.textarea.value = "";
      found.textarea.dispatchEvent(new Event("input", { bubbles: true }));
      fetch(item.media_url, { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.blob() : Promise.reject(response.status); })
        .then(function (blob) {
          const file = new File([blob], item.media_name || "arquivo", { type: item.media_mime || blob.type });
          window.AtendimentoFiles.add(found.form, [file], { caption: item.filled });
        }, function () { found.textarea.value = item.filled; });
      return;
    }
    found.textarea.value = item.filled;
    found.textarea.dispatchEvent(new Event("input", { bubbles: true }));  // autosize, drafts
    found.textarea.focus();
    found.textarea.setSelectionRange(item.filled.length, item.filled.length);
  }

  document.addEventListener("input", function (event) {
    const found = composer();
    if (!found || event.target !== found.textarea) return;
    const q = query(found.textarea);
    clearTimeout(timer);
    if (q === null) { box.close(); return; }
    timer = setTimeout(function () { lookUp(found, q); }, 120);
  });
})();
