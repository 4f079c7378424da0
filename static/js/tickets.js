/* The Atendimento page: keyboard, composer, dialogs, flashes, relative times.
 * Plain JS, no build. Business rules stay on the server: this only makes the
 * server-rendered page quicker to drive. live.js (realtime) may call
 * window.Atendimento.refreshTimes() / scrollToBottom() after it patches the DOM. */
(function () {
  "use strict";

  const lang = document.documentElement.lang || "pt-BR";
  const MINUTE = 60 * 1000;

  function isTyping(target) {
    if (!target) return false;
    const tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  /* -- relative times ("5 min"), matching the server's Babel 'short' format -- */
  const nowWord = document.body.dataset.nowLabel || "now";
  const unitFormats = {};
  function unitFormat(unit) {
    if (!unitFormats[unit]) {
      unitFormats[unit] = new Intl.NumberFormat(lang, { style: "unit", unit: unit, unitDisplay: "short" });
    }
    return unitFormats[unit];
  }
  function formatSince(date) {
    const minutes = Math.max(0, (Date.now() - date.getTime()) / MINUTE);
    if (minutes < 1) return nowWord;
    if (minutes < 59.5) return unitFormat("minute").format(Math.round(minutes));
    const hours = minutes / 60;
    if (hours < 23.5) return unitFormat("hour").format(Math.round(hours));
    const days = hours / 24;
    if (days < 29.5) return unitFormat("day").format(Math.round(days));
    if (days < 364) return unitFormat("month").format(Math.max(1, Math.round(days / 30)));
    return unitFormat("year").format(Math.max(1, Math.round(days / 365)));
  }
  function refreshTimes(root) {
    (root || document).querySelectorAll("time.since[datetime]").forEach(function (el) {
      const date = new Date(el.getAttribute("datetime"));
      if (isNaN(date)) return;
      el.textContent = formatSince(date);
      const lateAfter = parseInt(el.dataset.lateAfter, 10);
      if (lateAfter) el.classList.toggle("is-late", (Date.now() - date.getTime()) / MINUTE >= lateAfter);
    });
  }

  /* -- conversation --------------------------------------------------------- */
  function scrollToBottom() {
    const messages = document.getElementById("messages");
    if (messages) messages.scrollTop = messages.scrollHeight;
  }

  function autosize(textarea) {
    textarea.style.height = "auto";
    textarea.style.height = Math.min(textarea.scrollHeight + 2, 180) + "px";
  }

  function setupComposer() {
    const form = document.getElementById("composer-form");
    const textarea = document.getElementById("composer");
    if (!form || !textarea || form.dataset.bound) return;
    form.dataset.bound = "1";
    keepDraft(form, textarea);
    textarea.addEventListener("input", function () {
      autosize(textarea);
      delete form.dataset.sendKey;  // another text: another send
    });
    textarea.addEventListener("keydown", function (event) {
      // Enter sends, Shift+Enter breaks the line; never send mid IME composition.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && !event.altKey && !event.ctrlKey) {
        event.preventDefault();
        if (textarea.value.trim() || filesWaiting(form)) form.requestSubmit();
      } else if (event.key === "Escape") {
        textarea.blur();
      }
    });
    if (form.hasAttribute("data-fetch") && window.fetch) {
      form.addEventListener("submit", function (event) { event.preventDefault(); sendInPlace(form, textarea); });
    }
    if (location.hash === "#composer") {
      textarea.focus();
      history.replaceState(null, "", location.pathname + location.search);
    }
  }

  function filesWaiting(form) {
    return !!(window.AtendimentoFiles && window.AtendimentoFiles.pending(form));
  }

  /* Send without leaving the page: the bubble appears at once (queued), the stream then
   * moves its tick; on a refusal the text stays in the composer with the reason. Files in
   * the tray (attachments.js) go first, each its own message, then the text. Each send has
   * an Idempotency-Key, kept until it is answered: a retry after a lost answer (a weak
   * connection) sends once; a change of the text makes it a new send. */
  function sendInPlace(form, textarea) {
    if (form.dataset.submitting) return;
    if (!textarea.value.trim() && !filesWaiting(form)) return;
    const button = form.querySelector("button[type=submit]");
    form.dataset.submitting = "1";
    if (button) button.disabled = true;
    const files = filesWaiting(form) ? window.AtendimentoFiles.sendAll(form) : Promise.resolve(true);
    files.then(function (ok) {
      if (ok && textarea.value.trim()) return sendText(form, textarea);
    }).then(function () {
      delete form.dataset.submitting;
      if (button) button.disabled = false;
      textarea.focus();
    });
  }

  function sendText(form, textarea) {
    const error = document.getElementById("composer-error");
    if (!form.dataset.sendKey) form.dataset.sendKey = window.AtendimentoFiles ? window.AtendimentoFiles.newKey()
      : String(Date.now()) + Math.random();
    const body = new FormData(form);
    body.delete("file");
    return fetch(form.action, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": csrfToken(), "Idempotency-Key": form.dataset.sendKey },
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        if (response.status === 201 || response.status === 200) {
          delete form.dataset.sendKey;
          textarea.value = "";
          forgetDraft(form);
          form.dispatchEvent(new CustomEvent("composer:sent", { bubbles: true }));
          autosize(textarea);
          if (error) error.hidden = true;
          if (window.AtendimentoLive) window.AtendimentoLive.showMessage(json.message, json.html);
          return;
        }
        if (response.status < 500) delete form.dataset.sendKey;  // refused: sending again is a new try
        showComposerError(error, (json.error && json.error.message) || response.statusText);
      });
    }, function () {  // no answer: the key stays, so trying again cannot send twice
      showComposerError(error, document.body.dataset.offlineLabel || "offline");
    });
  }

  /* The unsent text of each conversation stays with it (per user and ticket, in this
   * browser): switching tickets never carries a draft into another one, and coming back,
   * or reloading, finds it again. Sent, it is forgotten. */
  function keepDraft(form, textarea) {
    const key = form.dataset.draftKey;
    if (!key || !window.localStorage) return;
    function save() {
      try {
        if (textarea.value.trim()) localStorage.setItem(key, textarea.value); else localStorage.removeItem(key);
      } catch (e) { /* storage full or disabled: the composer still works */ }
    }
    const saved = localStorage.getItem(key);
    if (saved && !textarea.value) {
      textarea.value = saved;
      autosize(textarea);
    } else if (textarea.value.trim()) {
      save();  // typed while the page was still loading, before this listener: kept all the same
    }
    textarea.addEventListener("input", save);
  }

  function forgetDraft(form) {
    if (form.dataset.draftKey && window.localStorage) localStorage.removeItem(form.dataset.draftKey);
  }

  function showComposerError(el, text) {
    if (!el) return;
    el.textContent = text;
    el.hidden = false;
  }

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  /* -- search as one types ---------------------------------------------------------- */
  function setupSearch() {
    const input = document.getElementById("ticket-search");
    if (!input || !window.fetch) return;
    let timer = null;
    let asked = 0;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        const form = input.form;
        const params = new URLSearchParams(new FormData(form));
        const selected = document.body.dataset.selectedTicketId;
        if (selected) params.set("selected", selected);
        const mine = ++asked;
        fetch("/tickets/list?" + params.toString(), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.text() : null; })
          .then(function (html) {
            if (!html || mine !== asked) return;  // an older answer arriving late
            if (window.AtendimentoLive && window.AtendimentoLive.swapList) window.AtendimentoLive.swapList(html);
            const url = new URL(location.href);
            if (input.value.trim()) url.searchParams.set("q", input.value.trim()); else url.searchParams.delete("q");
            url.searchParams.delete("page");
            history.replaceState(null, "", url.pathname + url.search);
          });
      }, 250);
    });
  }

  /* A search hit opens its conversation at #message-<id>: that bubble scrolled into the
   * middle and highlighted, instead of the newest message at the bottom. */
  function focusFoundMessage() {
    const match = /^#message-(\d+)$/.exec(location.hash);
    if (!match) return false;
    const bubble = document.querySelector('#messages [data-message-id="' + match[1] + '"]');
    if (!bubble) return false;
    bubble.classList.add("is-found");
    bubble.setAttribute("tabindex", "-1");
    bubble.scrollIntoView({ block: "center" });
    bubble.focus({ preventScroll: true });
    return true;
  }

  /* One click, one request: a double click must not accept or send twice. */
  function guardSubmits() {
    document.addEventListener("submit", function (event) {
      const form = event.target;
      if (form.method.toLowerCase() !== "post" || form.hasAttribute("data-fetch")) return;
      if (form.dataset.submitting) { event.preventDefault(); return; }
      form.dataset.submitting = "1";
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    });
    // Coming back through the history must not leave buttons disabled.
    window.addEventListener("pageshow", function () {
      document.querySelectorAll("form[data-submitting]").forEach(function (form) {
        delete form.dataset.submitting;
        form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
      });
    });
  }

  /* -- dialogs -------------------------------------------------------------- */
  function setupDialogs() {
    document.addEventListener("click", function (event) {
      const opener = event.target.closest("[data-open-dialog]");
      if (opener) {
        const dialog = document.getElementById(opener.dataset.openDialog);
        if (dialog && dialog.showModal) dialog.showModal();
        return;
      }
      const closer = event.target.closest("[data-close-dialog]");
      if (closer) closer.closest("dialog").close();
    });
    // A form that takes exactly one of several selects: choosing one clears the others
    // (delegated: live.js may swap the form in).
    document.addEventListener("change", function (event) {
      const select = event.target;
      const form = select.form;
      if (!form || !form.dataset.oneOf || !select.value) return;
      form.dataset.oneOf.split(" ").forEach(function (other) {
        if (other !== select.name && form.elements[other]) form.elements[other].value = "";
      });
    });
  }

  /* -- flashes -------------------------------------------------------------- */
  function dismiss(flash) {
    flash.classList.add("is-leaving");
    setTimeout(function () { flash.remove(); }, 300);
  }
  function setupFlashes() {
    document.addEventListener("click", function (event) {
      const button = event.target.closest("[data-dismiss-flash]");
      if (button) dismiss(button.closest(".flash"));
    });
    // Good news fades; errors stay until the attendant has read them.
    document.querySelectorAll(".flash[data-flash=success], .flash[data-flash=info]").forEach(function (flash) {
      setTimeout(function () { if (flash.isConnected) dismiss(flash); }, 6000);
    });
  }

  /* -- keyboard ------------------------------------------------------------- */
  function rowLinks() {
    return Array.prototype.slice.call(document.querySelectorAll("#ticket-list .ticket-link"));
  }
  function moveInList(step) {
    const links = rowLinks();
    if (!links.length) return;
    let index = links.indexOf(document.activeElement);
    if (index === -1) {
      index = links.findIndex(function (a) { return a.closest(".ticket-row").classList.contains("is-selected"); });
      index = index === -1 ? (step > 0 ? 0 : links.length - 1) : index + step;
    } else {
      index += step;
    }
    index = Math.max(0, Math.min(links.length - 1, index));
    links[index].focus();
    links[index].scrollIntoView({ block: "nearest" });
  }
  function setupKeyboard() {
    document.addEventListener("keydown", function (event) {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
      if (isTyping(event.target)) {
        if (event.key === "Escape" && event.target.id === "ticket-search") event.target.blur();
        return;
      }
      if (document.querySelector("dialog[open]")) return;
      switch (event.key) {
        case "/": {
          const search = document.getElementById("ticket-search");
          if (search) { event.preventDefault(); search.focus(); search.select(); }
          break;
        }
        case "j": event.preventDefault(); moveInList(1); break;
        case "k": event.preventDefault(); moveInList(-1); break;
        case "r": {  // answer: jump to the composer
          const composer = document.getElementById("composer");
          if (composer) { event.preventDefault(); composer.focus(); }
          break;
        }
        default: {  // a ticket action's key (tickets/actions.py), as its button shows it
          const target = Array.prototype.find.call(document.querySelectorAll("[data-shortcut]"), function (el) {
            const key = el.querySelector("kbd");
            return key && key.textContent === event.key;
          });
          if (!target) break;
          event.preventDefault();
          if (target.tagName === "FORM") target.requestSubmit(); else target.click();
        }
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupComposer();
    setupSearch();
    setupDialogs();
    setupFlashes();
    setupKeyboard();
    guardSubmits();
    if (!focusFoundMessage()) scrollToBottom();
    refreshTimes();
    setInterval(refreshTimes, 30 * 1000);
  });

  window.Atendimento = {
    refreshTimes: refreshTimes, scrollToBottom: scrollToBottom, formatSince: formatSince,
    bind: setupComposer,  // after live.js swapped in a conversation with a composer
  };
})();
