/* @mentions in internal notes: with the composer in note mode (Nota interna on, or the
 * note-only composer of a ticket one may read but not answer), "@" followed by letters
 * offers the users who may see the ticket (GET /tickets/<id>/mentionable) in a listbox.js
 * list: arrows move, Enter or Tab choose, Esc cancels. The server finds the @Nome in the note and tells each
 * of them (event: mention). A mention sent to the page shows a notice and a desktop
 * notification (live.js calls window.AtendimentoMentions.received). */
(function () {
  "use strict";

  let timer = null, asked = 0;

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

  const box = window.AtendimentoListbox({
    id: "mention-list",
    className: "quick-replies mention-list",
    composer: composer,
    label: function (form) { return form.dataset.mentionLabel || ""; },
    option: function (item) {
      const name = document.createElement("strong");
      name.textContent = "@" + item.name;
      return [name];
    },
    choose: choose,
  });

  function lookUp(found, q) {
    const mine = ++asked;
    fetch(found.form.dataset.mentionable + "?q=" + encodeURIComponent(q),
          { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { items: [] }; })
      .then(function (json) {
        if (mine !== asked || !pending(found.textarea)) return;
        box.show(found, json.items);
      }, function () { /* offline: type the name by hand */ });
  }

  function choose(item) {
    const found = composer();
    const at = found && pending(found.textarea);
    if (!found || !item || !at) return;
    box.close();
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
    if (!found || event.target !== found.textarea) { box.close(); return; }
    const at = pending(found.textarea);
    clearTimeout(timer);
    if (!at) { box.close(); return; }
    timer = setTimeout(function () { lookUp(found, at.q); }, 120);
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
