/* Responder: a message's reply button quotes it above the composer; the answer goes with
 * ``quoted_id`` (the server checks it is a message of this ticket, the channel shows it as
 * a reply). A quote in a bubble, clicked (or Enter), scrolls to the quoted message.
 * Delegated on the document: conversations that live.js swaps in need no binding. */
(function () {
  "use strict";

  function composerForm() {
    const textarea = document.getElementById("composer");
    return textarea ? textarea.form : null;
  }

  function snippet(message) {
    const body = message.querySelector(".msg-body");
    const file = message.querySelector(".msg-file, .msg-picture img, .msg-audio, .msg-video");
    const text = body ? body.textContent : file ? (file.getAttribute("alt") || file.textContent || "📎") : "";
    return text.trim().replace(/\s+/g, " ").slice(0, 140);
  }

  function cancel(form) {
    const bar = form.querySelector(".composer-quote");
    const input = form.querySelector("input[name=quoted_id]");
    if (bar) bar.remove();
    if (input) input.remove();
  }

  function quote(message) {
    const form = composerForm();
    if (!form) return;
    cancel(form);
    const input = document.createElement("input");
    input.type = "hidden"; input.name = "quoted_id"; input.value = message.dataset.messageId;
    const bar = document.createElement("div");
    bar.className = "composer-quote";
    const label = document.createElement("span");
    label.className = "composer-quote-label";
    label.textContent = form.dataset.replyingLabel || "";
    const text = document.createElement("span");
    text.className = "composer-quote-text";
    text.textContent = snippet(message);
    const close = document.createElement("button");
    close.type = "button"; close.className = "composer-quote-cancel"; close.textContent = "×";
    close.setAttribute("aria-label", form.dataset.cancelReplyLabel || "×");
    close.addEventListener("click", function () { cancel(form); document.getElementById("composer").focus(); });
    bar.append(label, text, close);
    form.prepend(input, bar);
    document.getElementById("composer").focus();
  }

  function showQuoted(id) {
    const original = document.querySelector('.msg[data-message-id="' + id + '"]');
    if (!original) return;
    original.scrollIntoView({ block: "center", behavior: "smooth" });
    original.classList.add("is-highlighted");
    setTimeout(function () { original.classList.remove("is-highlighted"); }, 2000);
  }

  document.addEventListener("click", function (event) {
    const reply = event.target.closest(".msg-reply");
    if (reply) { quote(reply.closest(".msg")); return; }
    const quoted = event.target.closest(".msg-quote[data-quoted-id]");
    if (quoted) showQuoted(quoted.dataset.quotedId);
  });
  document.addEventListener("keydown", function (event) {
    const quoted = event.target.closest && event.target.closest(".msg-quote[data-quoted-id]");
    if (quoted && event.key === "Enter") showQuoted(quoted.dataset.quotedId);
    const form = composerForm();
    if (event.key === "Escape" && form && event.target.id === "composer" && form.querySelector(".composer-quote")) {
      cancel(form);
      event.stopPropagation();
    }
  }, true);
  document.addEventListener("composer:sent", function (event) { cancel(event.target); });
})();
