/* @mentions in internal notes: with the composer in note mode (Nota interna on, or the
 * note-only composer of a ticket one may read but not answer), "@" followed by letters
 * offers the users who may see the ticket (GET /tickets/<id>/mentionable); arrows move,
 * Enter or Tab choose, Esc cancels. The server finds the @Nome in the note and tells each
 * of them (event: mention). A mention sent to the page shows a notice and a desktop
 * notification (live.js calls window.AtendimentoMentions.received).
 * Delegated on the document, capture phase, like quick_replies.js. */
(function () {
  "use strict";

  let list = null, items = [], active = -1, timer = null, asked = 0;

  function composer() {
    const textarea = document.getElementById("composer");
    const form = textarea && textarea.form;
    if (!form || !form.dataset.mentionable) return null;
    const noteSwitch = document.getElementById("composer-note");
    const noteMode = noteSwitch ? noteSwitch.checked : !!form.querySelector("input[name=note][type=hidden]");
    return noteMode ? { textarea: textarea, form: form } : null;
  }

  /* The "@na" being typed just before the cursor, or null. */
  function pending(textarea) {
    const before = textarea.value.slice(0, textarea.selectionStart);
    const match = /(^|\s)@([^\s@]{0,30})$/u.exec(before);
    return match ? { q: match[2], start: before.length - match[2].length - 1 } : null;
  }

  function close() {
    if (list) list.remove();
    list = null; items = []; active = -1;
  }

  function render(found) {
    if (!list) {
      list = document.createElement("ul");
      list.id = "mention-list";
      list.className = "quick-replies mention-list";
      list.setAttribute("role", "listbox");
      list.setAttribute("aria-label", found.form.dataset.mentionLabel || "");
      found.form.appendChild(list);
    }
    list.replaceChildren();
    items.forEach(function (item, index) {
      const option = document.createElement("li");
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", index === active ? "true" : "false");
      const name = document.createElement("strong");
      name.textContent = "@" + item.name;
      option.appendChild(name);
      option.addEventListener("mousedown", function (event) { event.preventDefault(); choose(index); });
      list.appendChild(option);
    });
    if (!items.length) close();
  }

  function lookUp(found, q) {
    const mine = ++asked;
    fetch(found.form.dataset.mentionable + "?q=" + encodeURIComponent(q),
          { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { items: [] }; })
      .then(function (json) {
        if (mine !== asked || !pending(found.textarea)) return;
        items = json.items || [];
        active = items.length ? 0 : -1;
        render(found);
      }, function () { /* offline: type the name by hand */ });
  }

  function choose(index) {
    const found = composer();
    const item = items[index];
    const at = found && pending(found.textarea);
    if (!found || !item || !at) return;
    close();
    const textarea = found.textarea;
    const inserted = "@" + item.name + " ";
    const cursor = textarea.selectionStart;
    textarea.value = textarea.value.slice(0, at.start) + inserted + textarea.value.slice(cursor);
    const end = at.start + inserted.length;
    textarea.setSelectionRange(end, end);
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
    textarea.focus();
  }

  document.addEventListener("input", function (event) {
    const found = composer();
    if (!found || event.target !== found.textarea) { if (list) close(); return; }
    const at = pending(found.textarea);
    clearTimeout(timer);
    if (!at) { close(); return; }
    timer = setTimeout(function () { lookUp(found, at.q); }, 120);
  });

  document.addEventListener("keydown", function (event) {
    const found = composer();
    if (!list || !found || event.target !== found.textarea || event.isComposing) return;
    const keys = { ArrowDown: 1, ArrowUp: -1 };
    if (event.key in keys) {
      active = (active + keys[event.key] + items.length) % items.length;
      render(found);
    } else if ((event.key === "Enter" || event.key === "Tab") && !event.shiftKey && active >= 0) {
      choose(active);
    } else if (event.key === "Escape") {
      close();
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
  }, true);

  document.addEventListener("focusout", function (event) {
    if (event.target.id === "composer") close();
  });

  /* -- being mentioned -------------------------------------------------------------- */
  function received(data) {
    const body = document.body;
    const text = (body.dataset.mentionedLabel || "%(name)s mentioned you in #%(ticket)s")
      .replace("%(name)s", data.by_name || "").replace("%(ticket)s", data.ticket_id);
    const notice = document.createElement("div");
    notice.className = "flash mention-notice";
    notice.setAttribute("role", "status");
    notice.dataset.flash = "info";
    const link = document.createElement("a");
    link.href = "/tickets/" + data.ticket_id;
    link.textContent = text;
    const dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "flash-close";
    dismiss.setAttribute("data-dismiss-flash", "");
    dismiss.setAttribute("aria-label", body.dataset.closeLabel || "×");
    dismiss.textContent = "×";
    notice.append(link, dismiss);
    let stack = document.getElementById("mention-notices");
    if (!stack) {
      stack = document.createElement("div");
      stack.id = "mention-notices";
      stack.className = "mention-notices";
      stack.setAttribute("aria-live", "polite");
      document.body.appendChild(stack);
    }
    stack.appendChild(notice);
    return text;
  }

  window.AtendimentoMentions = { received: received };
})();
