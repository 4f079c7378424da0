/* Quick replies in the composer: "/" at the start opens the list (personal + global),
 * filtered as one types; arrows move, Enter or Tab choose, Esc cancels. The server fills
 * the variables ({{nome}}, {{saudacao}}…) for this ticket, so the composer shows the text
 * exactly as the contact will read it before it is sent.
 *
 * Delegated on the document (capture phase): a conversation swapped in by live.js needs
 * no new binding, and while the list is open its keys never reach the composer's own
 * Enter-sends handler. */
(function () {
  "use strict";

  let list = null;      // the open <ul role="listbox">, or null
  let items = [];       // what the server answered for the current query
  let active = -1;      // the highlighted option
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

  function close() {
    const found = composer();
    if (list) list.remove();
    list = null; items = []; active = -1;
    if (found) {
      found.textarea.setAttribute("aria-expanded", "false");
      found.textarea.removeAttribute("aria-activedescendant");
    }
  }

  function render(found) {
    if (!list) {
      list = document.createElement("ul");
      list.id = "quick-replies";
      list.className = "quick-replies";
      list.setAttribute("role", "listbox");
      list.setAttribute("aria-label", found.form.dataset.quickRepliesLabel || "");
      found.form.appendChild(list);
      found.textarea.setAttribute("aria-controls", list.id);
      found.textarea.setAttribute("aria-autocomplete", "list");
    }
    found.textarea.setAttribute("aria-expanded", "true");
    list.replaceChildren();
    if (!items.length) {
      const empty = document.createElement("li");
      empty.className = "quick-replies-empty";
      empty.textContent = found.form.dataset.quickRepliesEmpty || "";
      list.appendChild(empty);
    }
    items.forEach(function (item, index) {
      const option = document.createElement("li");
      option.id = "quick-reply-" + item.id;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", index === active ? "true" : "false");
      const shortcut = document.createElement("strong");
      shortcut.textContent = item.shortcut;
      const text = document.createElement("span");
      text.textContent = item.filled;
      option.append(shortcut, text);
      option.addEventListener("mousedown", function (event) {  // before the textarea's blur
        event.preventDefault();
        choose(index);
      });
      list.appendChild(option);
    });
    if (active >= 0) {
      found.textarea.setAttribute("aria-activedescendant", "quick-reply-" + items[active].id);
      list.children[active].scrollIntoView({ block: "nearest" });
    }
  }

  function lookUp(found, q) {
    const ticket = ++asked;
    const url = found.form.dataset.quickReplies + "?q=" + encodeURIComponent(q);
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { items: [] }; })
      .then(function (json) {
        if (ticket !== asked || query(found.textarea) === null) return;
        items = json.items || [];
        active = items.length ? 0 : -1;
        render(found);
      }, function () { /* offline: the composer keeps working without the list */ });
  }

  function choose(index) {
    const found = composer();
    const item = items[index];
    if (!found || !item) return;
    close();
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
    if (q === null) { close(); return; }
    timer = setTimeout(function () { lookUp(found, q); }, 120);
  });

  document.addEventListener("keydown", function (event) {
    const found = composer();
    if (!list || !found || event.target !== found.textarea || event.isComposing) return;
    const keys = { ArrowDown: 1, ArrowUp: -1 };
    if (event.key in keys && items.length) {
      active = (active + keys[event.key] + items.length) % items.length;
      render(found);
    } else if ((event.key === "Enter" || event.key === "Tab") && !event.shiftKey && active >= 0) {
      choose(active);
    } else if (event.key === "Enter" && !event.shiftKey) {
      close();  // nothing matches: "/ola" is not sent to the contact by mistake
    } else if (event.key === "Escape") {
      close();
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
  }, true);

  document.addEventListener("focusout", function (event) {
    const found = composer();
    if (found && event.target === found.textarea) close();
  });
})();
