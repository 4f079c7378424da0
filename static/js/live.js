/* Live pages: one EventSource to /stream keeps the Atendimento page current.
 *
 * The server renders; this file never decides what a list should contain. On an
 * event it re-fetches the current URL (debounced, one request at a time) and swaps
 * the parts that change (#ticket-list, the tab counts, #messages; the whole
 * conversation when the selected ticket itself moved), keeping scroll positions, the
 * composer's text and any open dialog. Events only add what a re-render cannot:
 * a sound, a desktop notification and a marker in the tab title when a new ticket
 * waits or a customer writes on one of my tickets.
 *
 * After a reconnect (or a `reset` event: the server could not replay what we missed)
 * the containers are refreshed, so the page is consistent without a reload. */
(function () {
  "use strict";

  const body = document.body;
  const list = document.getElementById("ticket-list");
  if (!list || !window.EventSource) return;  // only the Atendimento page is live

  const me = parseInt(body.dataset.currentUserId, 10);
  const selectedId = parseInt(body.dataset.selectedTicketId, 10) || null;
  const COUNT_IDS = ["count-pending", "count-open", "count-closed", "count-mine"];
  const known = {};  // ticket id -> {status, user_id}: who a message belongs to, what is new

  document.querySelectorAll("#ticket-list [data-ticket-id]").forEach(function (row) {
    known[row.dataset.ticketId] = { status: row.dataset.status, user_id: parseInt(row.dataset.userId, 10) || null };
  });

  // For other scripts (and tests): whether the stream is open, and a way to ask for a refresh.
  const live = window.AtendimentoLive = { connected: false, refresh: function () { scheduleRefresh(0); } };

  /* -- the stream ------------------------------------------------------------ */
  let source = null;
  let lastEventId = "";
  let opened = false;
  let retryDelay = 3000;

  function connect() {
    // A browser reconnecting by itself sends Last-Event-ID; a new EventSource cannot, so say it in the URL.
    const url = "/stream" + (lastEventId ? "?last_event_id=" + encodeURIComponent(lastEventId) : "");
    source = new EventSource(url);
    source.addEventListener("open", function () {
      retryDelay = 3000;
      live.connected = true;
      if (opened) scheduleRefresh(0);  // back after a drop: whatever we missed, the server's page has it
      opened = true;
    });
    source.addEventListener("error", function () {
      live.connected = false;
      if (source.readyState !== EventSource.CLOSED) return;  // the browser retries by itself
      // Closed for good (a 401 after logout, a 503): retry ourselves, slower each time.
      setTimeout(function () { checkSession().then(connect); }, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 60000);
    });
    ["ticket.created", "ticket.updated", "ticket.removed", "message.created", "message.updated", "reset"]
      .forEach(function (name) {
        source.addEventListener(name, function (event) {
          if (event.lastEventId) lastEventId = event.lastEventId;
          let data = {};
          try { data = JSON.parse(event.data || "{}"); } catch (e) { /* keep {} */ }
          handle(name, data);
        });
      });
  }

  function checkSession() {
    return fetch(location.href, { credentials: "same-origin", method: "HEAD" }).then(function (response) {
      if (response.redirected && /\/login/.test(response.url)) location.reload();
    }, function () { /* offline: just try the stream again */ });
  }

  function handle(name, data) {
    if (name === "reset") return scheduleRefresh(0);
    if (name.indexOf("message.") === 0) {
      if (name === "message.created" && data.direction === "in" && (known[data.ticket_id] || {}).user_id === me) {
        alertUser(data.body || "", data.ticket_id);
      }
      if (data.ticket_id === selectedId) scheduleRefresh();
      return;
    }
    const id = data.id;
    const before = known[id];
    if (name === "ticket.removed") {
      delete known[id];
      removeRow(id);
      if (id === selectedId) return leaveConversation();
      return scheduleRefresh();
    }
    known[id] = { status: data.status, user_id: data.user_id };
    if (data.status === "pending" && (!before || before.status !== "pending")) {
      alertUser(data.last_message || "", id, data.contact && data.contact.name);
    }
    // Quick feedback before the re-render: a row that left this tab goes now.
    const row = rowOf(id);
    if (row && row.dataset.status !== data.status) removeRow(id);
    scheduleRefresh();
  }

  function rowOf(id) {
    return list.isConnected ? document.querySelector('#ticket-list [data-ticket-id="' + id + '"]') : null;
  }

  function removeRow(id) {
    const row = rowOf(id);
    if (row) row.remove();
  }

  function leaveConversation() {
    // The ticket left my sight: its page would answer 404. Back to the list of the same tab.
    const tab = body.dataset.tab || "pending";
    location.href = "/tickets?tab=" + encodeURIComponent(tab);
  }

  /* -- refreshing the page in place ---------------------------------------------- */
  let timer = null;
  let inFlight = false;
  let again = false;

  function scheduleRefresh(delay) {
    if (inFlight) { again = true; return; }
    clearTimeout(timer);
    timer = setTimeout(refresh, delay === undefined ? 120 : delay);
  }

  function refresh() {
    inFlight = true;
    fetch(location.href, { credentials: "same-origin", headers: { "X-Requested-With": "live" } })
      .then(function (response) {
        if (response.redirected && /\/login/.test(response.url)) { location.reload(); return null; }
        if (response.status === 404 && selectedId) { leaveConversation(); return null; }
        return response.ok ? response.text() : null;
      })
      .then(function (html) { if (html) swap(new DOMParser().parseFromString(html, "text/html")); })
      .catch(function () { /* offline for a moment: the next event or reconnect refreshes again */ })
      .then(function () {
        inFlight = false;
        if (again) { again = false; scheduleRefresh(); }
      });
  }

  function swap(fresh) {
    const freshList = fresh.getElementById("ticket-list");
    if (freshList) replaceKeepingScroll(document.getElementById("ticket-list"), freshList);
    COUNT_IDS.forEach(function (id) {
      const now = document.getElementById(id);
      const then = fresh.getElementById(id);
      if (now && then) { now.textContent = then.textContent; now.className = then.className; }
    });
    swapConversation(fresh);
    freshRows();
    if (window.Atendimento) window.Atendimento.refreshTimes();
  }

  function freshRows() {
    document.querySelectorAll("#ticket-list [data-ticket-id]").forEach(function (row) {
      known[row.dataset.ticketId] = { status: row.dataset.status, user_id: parseInt(row.dataset.userId, 10) || null };
    });
  }

  function replaceKeepingScroll(old, fresh) {
    if (!old) return;
    const pane = old.closest(".list-pane") || old.parentElement;
    const paneTop = pane.scrollTop;
    const listTop = old.scrollTop;
    const focusedId = document.activeElement && old.contains(document.activeElement) &&
      document.activeElement.closest("[data-ticket-id]") ? document.activeElement.closest("[data-ticket-id]").dataset.ticketId : null;
    const adopted = document.importNode(fresh, true);
    old.replaceWith(adopted);
    adopted.scrollTop = listTop;
    pane.scrollTop = paneTop;
    if (focusedId) {
      const link = adopted.querySelector('[data-ticket-id="' + focusedId + '"] a');
      if (link) link.focus({ preventScroll: true });
    }
  }

  function swapConversation(fresh) {
    if (!selectedId) return;
    if (document.querySelector("dialog[open]")) return;  // mid-transfer: do not pull the dialog away
    if (stateOf(document) === stateOf(fresh)) {
      swapMessages(fresh);  // same state: only new messages (or delivery ticks)
      return;
    }
    // The ticket itself moved (accepted, closed, transferred): its centre and side panes change.
    ["conversation-pane", "side-pane"].forEach(function (name) {
      const now = document.querySelector("." + name);
      const then = fresh.querySelector("." + name);
      if (!now || !then) return;
      const adopted = document.importNode(then, true);
      keepElements(now, adopted, ["composer-form", "transfer-dialog"]);
      now.replaceWith(adopted);
    });
    if (window.Atendimento) window.Atendimento.scrollToBottom();
  }

  /* What the conversation pane shows about the ticket's state (actions, banners, which
   * blocks are there), without what changes on every render (CSRF tokens, times). */
  function stateOf(root) {
    const pane = root.querySelector(".conversation-pane");
    if (!pane) return "";
    const parts = [];
    pane.querySelectorAll(".conv-header, .banner, #composer-form, .composer-note, #messages, .pending-card")
      .forEach(function (el) {
        parts.push(el.id || el.className);
        if (!el.matches("#messages, #composer-form")) parts.push(el.textContent.replace(/\s+/g, " ").trim());
      });
    return parts.join("|");
  }

  /* Elements with handlers and user input (the composer's text, the transfer form) move
   * over from the old pane instead of being rebuilt, when the new pane still has them. */
  function keepElements(oldPane, newPane, ids) {
    ids.forEach(function (id) {
      const mine = oldPane.querySelector("#" + id);
      const theirs = newPane.querySelector("#" + id);
      if (mine && theirs && mine.getAttribute("action") === theirs.getAttribute("action")) theirs.replaceWith(mine);
    });
  }

  function swapMessages(fresh) {
    const now = document.getElementById("messages");
    const then = fresh.getElementById("messages");
    if (!now || !then) return;
    const atBottom = now.scrollHeight - now.scrollTop - now.clientHeight < 40;
    const top = now.scrollTop;
    now.innerHTML = then.innerHTML;
    if (atBottom) now.scrollTop = now.scrollHeight;  // follow the conversation only if I was following it
    else now.scrollTop = top;
  }

  /* -- sound, desktop notification, title marker --------------------------------- */
  let audio = null;
  let unseen = 0;
  const baseTitle = document.title;

  function unlockAudio() {
    // Browsers allow sound only after a gesture: create (or resume) the context on one.
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    if (!audio) audio = new Context();
    if (audio.state === "suspended") audio.resume();
  }

  function chime() {
    if (!audio || audio.state !== "running") return;
    const start = audio.currentTime;
    [880, 1320].forEach(function (freq, i) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.value = freq;
      const t = start + i * 0.14;
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.18, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.22);
      osc.connect(gain).connect(audio.destination);
      osc.start(t);
      osc.stop(t + 0.25);
    });
  }

  function askPermission() {
    unlockAudio();
    if (window.Notification && Notification.permission === "default") Notification.requestPermission();
  }
  document.addEventListener("click", askPermission, { once: true });
  document.addEventListener("keydown", unlockAudio, { once: true });

  function away() {
    return document.hidden || !document.hasFocus();
  }

  function alertUser(text, ticketId, title) {
    chime();
    if (!away()) return;
    unseen += 1;
    document.title = "(" + unseen + ") " + baseTitle;
    if (window.Notification && Notification.permission === "granted") {
      const note = new Notification(title || document.title, { body: text.slice(0, 140), tag: "ticket-" + ticketId });
      note.onclick = function () { window.focus(); location.href = "/tickets/" + ticketId; note.close(); };
    }
  }

  function back() {
    if (away()) return;
    unseen = 0;
    document.title = baseTitle;
  }
  document.addEventListener("visibilitychange", back);
  window.addEventListener("focus", back);

  window.addEventListener("pagehide", function () { if (source) source.close(); });
  connect();
})();
