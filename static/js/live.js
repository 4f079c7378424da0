/* Live pages: one EventSource to /stream keeps the Atendimento page current, in place.
 *
 * The server renders. Each event already carries the HTML of what it changes, rendered
 * once per event (a list row for ticket.*, a message bubble for message.*), so this file
 * only puts it where it goes: the row is inserted, moved or removed, the bubble appended
 * or replaced (a delivery tick). Nothing is fetched for a new message. Only what an event
 * cannot carry for every reader is asked for, in small pieces: the tab counts after a
 * ticket moved (GET /tickets/counts), the conversation's header, actions and side panel
 * when the open ticket itself moved (GET /tickets/<id>/panes), the list after a reconnect
 * or a `reset` (GET /tickets/list). Scroll positions, focus, the composer's text and open
 * dialogs survive every update.
 *
 * Events also bring a sound, a desktop notification and a marker in the tab title when a
 * new ticket waits or a customer writes on one of my tickets. */
(function () {
  "use strict";

  const body = document.body;
  if (!document.getElementById("ticket-list") || !window.EventSource) return;

  const me = parseInt(body.dataset.currentUserId, 10);
  const selectedId = parseInt(body.dataset.selectedTicketId, 10) || null;
  const timeZone = body.dataset.timezone || undefined;
  const lang = document.documentElement.lang || "pt-BR";
  const known = {};  // ticket id -> {status, user_id}: whose a message is, what is new

  function rememberRows() {
    document.querySelectorAll("#ticket-list [data-ticket-id]").forEach(function (row) {
      known[row.dataset.ticketId] = { status: row.dataset.status, user_id: parseInt(row.dataset.userId, 10) || null };
    });
  }
  rememberRows();

  // For other scripts and tests: whether the stream is open, how many pieces were fetched.
  const live = window.AtendimentoLive = {
    connected: false, fetches: 0, events: 0,
    resync: function () { resync(); },
    showMessage: function (data, html) { placeMessage(data, html); },
  };

  /* -- the stream ------------------------------------------------------------ */
  let source = null;
  let lastEventId = body.dataset.streamCursor || "";  // the page is as of this event: resume after it
  let retryDelay = 3000;

  function connect() {
    // A browser reconnecting by itself sends Last-Event-ID; a new EventSource cannot, so say it in the URL.
    const url = "/stream" + (lastEventId ? "?last_event_id=" + encodeURIComponent(lastEventId) : "");
    source = new EventSource(url);
    source.addEventListener("open", function () {
      retryDelay = 3000;
      live.connected = true;
    });
    source.addEventListener("error", function () {
      live.connected = false;
      if (source.readyState !== EventSource.CLOSED) return;  // the browser retries by itself, with Last-Event-ID
      // Closed for good (a 401 after logout, a 503): retry ourselves, slower each time.
      setTimeout(function () { checkSession().then(connect); }, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 60000);
    });
    ["ticket.created", "ticket.updated", "ticket.removed", "message.created", "message.updated", "mention", "reset",
     "call.ringing", "call.answered", "call.ended"]
      .forEach(function (name) {
        source.addEventListener(name, function (event) {
          if (event.lastEventId) lastEventId = event.lastEventId;
          let data = {};
          try { data = JSON.parse(event.data || "{}"); } catch (e) { /* keep {} */ }
          live.events += 1;
          handle(name, data);
        });
      });
  }

  function checkSession() {
    return fetch("/tickets/counts", { credentials: "same-origin" }).then(function (response) {
      if (response.redirected || response.status === 401) location.reload();
    }, function () { /* offline: just try the stream again */ });
  }

  function handle(name, data) {
    if (name === "reset") return resync();
    if (name.indexOf("call.") === 0) {  // WhatsApp calls: whatsapp_calls.js rings and stops
      return document.dispatchEvent(new CustomEvent("atendimento:call", { detail: { name: name, data: data } }));
    }
    if (name === "mention") {  // someone named me in a note (mentions.js shows the notice)
      const text = window.AtendimentoMentions ? window.AtendimentoMentions.received(data) : "";
      return alertUser(text, data.ticket_id, text);
    }
    if (name === "message.created" || name === "message.updated") return onMessage(name, data);
    const id = data.id;
    const before = known[id];
    if (name === "ticket.removed") {
      delete known[id];
      removeRow(id);
      refreshCounts();
      if (id === selectedId) leftMySight();
      return;
    }
    known[id] = { status: data.status, user_id: data.user_id };
    if (data.status === "pending" && (!before || before.status !== "pending")) {
      alertUser(data.last_message || "", id, data.contact && data.contact.name);
    }
    placeRow(data);
    const changed = data.changed || [];
    const moved = name === "ticket.created" || ["status", "sector_id", "user_id"].some(function (f) {
      return changed.indexOf(f) !== -1;
    });
    if (moved) refreshCounts();
    if (id === selectedId && (moved || changed.indexOf("connection_id") !== -1 || changed.indexOf("bot") !== -1 ||
                              document.querySelector(".pending-card"))) {  // the card shows the last words
      refreshPanes();
    }
  }

  /* -- the list ---------------------------------------------------------------- */
  function list() { return document.getElementById("ticket-list"); }

  function rowOf(id) {
    const ul = list();
    return ul ? ul.querySelector('[data-ticket-id="' + id + '"]') : null;
  }

  function removeRow(id) {
    const row = rowOf(id);
    if (row) row.remove();
  }

  /* Whether this list shows the ticket: its tab, and on "Mine" only my tickets. */
  function belongs(ul, data) {
    if (data.status !== ul.dataset.tab) return false;
    return !(ul.dataset.tab === "open" && ul.dataset.view === "mine" && data.user_id !== me);
  }

  function placeRow(data) {
    const ul = list();
    if (!ul || !data.html) return;
    const existing = rowOf(data.id);
    if (!belongs(ul, data)) { if (existing) existing.remove(); return; }
    // A search or an older page: the server chose its rows; only those already shown change.
    if (!existing && (ul.dataset.q || ul.dataset.tags || ul.dataset.page)) return;
    const row = toElement(data.html);
    // An event's row carries the contact's tags; one that could not get them keeps the shown ones.
    const shownTags = existing && existing.querySelector(".row-tags");
    if (shownTags && !row.querySelector(".row-tags")) row.querySelector(".row-main").appendChild(shownTags.cloneNode(true));
    row.querySelector("a.ticket-link").href = existing ? existing.querySelector("a.ticket-link").href : rowHref(ul, data);
    if (data.id === selectedId) {
      row.classList.add("is-selected");
      row.querySelector("a.ticket-link").setAttribute("aria-current", "true");
    }
    const hadFocus = existing && existing.contains(document.activeElement);
    const next = firstAfter(ul, row, existing);
    if (next === undefined) { if (existing) existing.remove(); return; }  // belongs to a later page
    if (existing) existing.remove();
    ul.insertBefore(row, next);
    if (hadFocus) row.querySelector("a.ticket-link").focus({ preventScroll: true });
    if (window.Atendimento) window.Atendimento.refreshTimes(row);
  }

  function rowHref(ul, data) {
    const params = new URLSearchParams({ tab: data.status });
    if (data.status === "open" && ul.dataset.view) params.set("view", ul.dataset.view);
    return "/tickets/" + data.id + "?" + params.toString();
  }

  /* Rows are newest activity first (then highest id): the row to insert before, null for
   * the end, undefined when the ticket sorts after the last row of a list that has more pages. */
  function firstAfter(ul, row, skip) {
    const at = row.dataset.lastMessageAt;
    const id = parseInt(row.dataset.ticketId, 10);
    const rows = ul.querySelectorAll(".ticket-row");
    for (let i = 0; i < rows.length; i++) {
      const other = rows[i];
      if (other === skip) continue;
      const otherAt = other.dataset.lastMessageAt;
      if (new Date(otherAt) < new Date(at) || (otherAt === at && parseInt(other.dataset.ticketId, 10) < id)) {
        return other;
      }
    }
    if (document.getElementById("next-page")) return undefined;
    return ul.querySelector(".list-empty");
  }

  /* -- counts, panes and the whole list: small fetches, one at a time each ----------- */
  function single(fn, delay) {
    let timer = null, running = false, again = false;
    function run() {
      running = true;
      live.fetches += 1;
      Promise.resolve(fn()).catch(function () { /* offline: the next event or reconnect catches up */ })
        .then(function () {
          running = false;
          if (again) { again = false; schedule(); }
        });
    }
    function schedule() {
      if (running) { again = true; return; }
      clearTimeout(timer);
      timer = setTimeout(run, delay);
    }
    return schedule;
  }

  function getText(url) {
    return fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "live" } }).then(function (r) {
      if (r.redirected && /\/login/.test(r.url)) { location.reload(); return null; }
      if (r.status === 404) return 404;
      return r.ok ? r.text() : null;
    });
  }

  const refreshCounts = single(function () {
    return fetch("/tickets/counts", { credentials: "same-origin" }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (counts) {
      if (!counts) return;
      Object.keys(counts).forEach(function (name) {
        const el = document.getElementById("count-" + name);
        if (el) el.textContent = counts[name];
      });
      const pending = document.getElementById("count-pending");
      if (pending) pending.classList.toggle("has-waiting", counts.pending > 0);
    });
  }, 150);

  function currentQuery() {
    const params = new URLSearchParams(location.search);
    const ul = list();
    if (ul) {
      params.set("tab", ul.dataset.tab);
      if (ul.dataset.view) params.set("view", ul.dataset.view); else params.delete("view");
      if (ul.dataset.q) params.set("q", ul.dataset.q); else params.delete("q");
    }
    if (selectedId) params.set("selected", selectedId);
    return params;
  }

  const refreshList = single(function () {
    return getText("/tickets/list?" + currentQuery().toString()).then(function (html) {
      if (typeof html === "string") swapList(html);
    });
  }, 0);

  /* The list's results and the tab bar from a fragment; the search box stays as typed. */
  function swapList(html) {
    const fresh = document.createElement("div");
    fresh.innerHTML = html;
    const results = document.getElementById("list-results");
    const freshResults = fresh.querySelector("#list-results");
    if (results && freshResults) results.replaceWith(freshResults);
    const tabs = document.querySelector(".list-pane .tabs");
    const freshTabs = fresh.querySelector(".tabs");
    if (tabs && freshTabs) tabs.replaceWith(freshTabs);
    const mine = document.getElementById("count-mine"), freshMine = fresh.querySelector("#count-mine");
    if (mine && freshMine) mine.textContent = freshMine.textContent;
    rememberRows();
    if (window.Atendimento) window.Atendimento.refreshTimes();
  }
  live.swapList = swapList;

  const refreshPanes = single(function () {
    if (document.querySelector("dialog[open]")) {  // mid-transfer: do not pull the dialog away
      const dialog = document.querySelector("dialog[open]");
      dialog.addEventListener("close", function () { refreshPanes(); }, { once: true });
      return null;
    }
    return getText("/tickets/" + selectedId + "/panes?" + currentQuery().toString()).then(function (html) {
      if (html === 404) return leftMySight();
      if (typeof html === "string") swapPanes(html);
    });
  }, 80);

  /* The ticket itself moved (accepted, closed, transferred): its centre and side panes
   * change. What holds the reader's work moves over from the old pane: the composer (its
   * text), the transfer form, and the messages already shown (their scroll position). */
  let messagesStale = false;  // after a reset the messages shown may lack some: take the server's

  function swapPanes(html) {
    const fresh = document.createElement("div");
    fresh.innerHTML = html;
    // A kept element leaves the page for a moment as it moves over, and the caret with it:
    // whatever the reader was typing in (the composer, a caption) gets it back after.
    const focused = document.activeElement;
    const caret = focused && typeof focused.selectionStart === "number" ? [focused.selectionStart, focused.selectionEnd] : null;
    const keep = messagesStale ? ["composer-form", "transfer-dialog"] : ["composer-form", "transfer-dialog", "messages"];
    messagesStale = false;
    ["conversation-pane", "side-pane"].forEach(function (name) {
      const now = document.querySelector("." + name);
      const then = fresh.querySelector("." + name);
      if (!now || !then) return;
      keepElements(now, then, keep);
      now.replaceWith(then);
    });
    const workspace = document.querySelector(".workspace");
    if (workspace && !document.querySelector(".side-pane") && fresh.querySelector(".side-pane")) {
      workspace.appendChild(fresh.querySelector(".side-pane"));
    }
    if (focused && focused !== document.body && focused !== document.activeElement && document.contains(focused)) {
      focused.focus({ preventScroll: true });
      if (caret) focused.setSelectionRange(caret[0], caret[1]);
    }
    prepareMessages(document.getElementById("messages"));
    anchorBottom();
    if (window.Atendimento) { window.Atendimento.refreshTimes(); window.Atendimento.bind(); }
  }

  function keepElements(oldPane, newPane, ids) {
    ids.forEach(function (id) {
      const mine = oldPane.querySelector("#" + id);
      const theirs = newPane.querySelector("#" + id);
      if (!mine || !theirs) return;
      if (mine.getAttribute("action") !== theirs.getAttribute("action")) return;
      if (id === "messages" && mine.dataset.ticketId !== theirs.dataset.ticketId) return;
      // An answering composer and a note-only one (the ticket closed, or passed to someone
      // else) are not the same form: the new one comes in.
      if (id === "composer-form" && mine.classList.contains("composer-notes-only") !==
          theirs.classList.contains("composer-notes-only")) return;
      theirs.replaceWith(mine);
    });
  }

  /* After a reconnect the browser resumes from its Last-Event-ID; a `reset` means the
   * server could not replay what we missed: everything shown is fetched again. */
  function resync() {
    refreshCounts();
    refreshList();
    if (selectedId) { messagesStale = true; refreshPanes(); }
  }

  function leftMySight() {
    // The ticket left my sight (transferred away): its conversation goes, the list stays.
    const pane = document.querySelector(".conversation-pane");
    const side = document.querySelector(".side-pane");
    if (side) side.remove();
    if (pane) {
      const note = document.createElement("div");
      note.className = "empty-state";
      note.id = "ticket-gone";
      const h = document.createElement("h2");
      h.textContent = body.dataset.goneLabel || "";
      note.appendChild(h);
      pane.replaceChildren(note);
    }
    const ul = list();
    history.replaceState(null, "", "/tickets?tab=" + encodeURIComponent(ul ? ul.dataset.tab : "pending"));
  }

  /* -- messages ------------------------------------------------------------------ */
  function onMessage(name, data) {
    if (name === "message.created" && data.direction === "in" && (known[data.ticket_id] || {}).user_id === me) {
      alertUser(data.body || "", data.ticket_id);
    }
    if (data.ticket_id === selectedId) placeMessage(data, data.html);
  }

  function atBottom(box) {
    return box.scrollHeight - box.scrollTop - box.clientHeight < 48;
  }

  function placeMessage(data, html) {
    const box = document.getElementById("messages");
    if (!box || !html || parseInt(box.dataset.ticketId, 10) !== data.ticket_id) return;
    const bubble = toElement(html);
    const existing = box.querySelector('[data-message-id="' + data.id + '"]');
    const follow = atBottom(box);
    if (existing) {
      existing.replaceWith(bubble);
    } else {
      const empty = box.querySelector(".messages-empty");
      if (empty) empty.remove();
      const next = Array.prototype.find.call(box.querySelectorAll("[data-message-id]"), function (el) {
        return parseInt(el.dataset.messageId, 10) > data.id;
      }) || null;
      const previous = next ? previousBubble(next) : lastBubble(box);
      if (!previous || dayOf(previous) !== dayOf(bubble)) box.insertBefore(separator(bubble), next);
      box.insertBefore(bubble, next);
    }
    prepareMessages(box, bubble);
    if (follow || data.direction === "out" && !existing) box.scrollTop = box.scrollHeight;
  }

  function lastBubble(box) {
    const all = box.querySelectorAll("[data-message-id]");
    return all.length ? all[all.length - 1] : null;
  }

  function previousBubble(el) {
    let node = el.previousElementSibling;
    while (node && !node.dataset.messageId) node = node.previousElementSibling;
    return node;
  }

  /* What the pushed HTML leaves to the reader's page: times in their zone, the author's
   * name once per run of replies, and the Reenviar form only for who may answer. */
  function prepareMessages(box, only) {
    if (!box) return;
    const bubbles = only ? [only] : box.querySelectorAll("[data-message-id]");
    const composer = document.getElementById("composer-form");
    const token = document.querySelector('meta[name="csrf-token"]');
    Array.prototype.forEach.call(bubbles, function (bubble) {
      bubble.querySelectorAll("time.clock[datetime]").forEach(function (el) {
        el.textContent = clock(new Date(el.getAttribute("datetime")));
      });
      bubble.querySelectorAll(".msg-resend").forEach(function (form) {
        if (!composer) { form.remove(); return; }
        const input = form.querySelector('input[name="csrf_token"]');
        if (input && !input.value && token) input.value = token.content;
      });
      const author = bubble.querySelector(".msg-author");
      const previous = previousBubble(bubble);
      if (author && previous && previous.dataset.sender === bubble.dataset.sender &&
          dayOf(previous) === dayOf(bubble)) author.remove();
    });
  }

  const clockFormat = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: timeZone });
  const dayFormat = new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit", timeZone: timeZone });
  const longDay = new Intl.DateTimeFormat(lang, { weekday: "long", day: "numeric", month: "long", timeZone: timeZone });

  function clock(date) { return isNaN(date) ? "" : clockFormat.format(date); }

  function dayOf(bubble) {
    const time = bubble.querySelector("time[datetime]");
    return time ? dayFormat.format(new Date(time.getAttribute("datetime"))) : "";
  }

  function separator(bubble) {
    const day = dayOf(bubble);
    const div = document.createElement("div");
    div.className = "day-separator";
    div.setAttribute("role", "separator");
    const span = document.createElement("span");
    const time = bubble.querySelector("time[datetime]");
    span.textContent = day === dayFormat.format(new Date()) ? (body.dataset.todayLabel || day)
      : longDay.format(new Date(time.getAttribute("datetime")));
    div.appendChild(span);
    return div;
  }

  function toElement(html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
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

  /* Media whose size arrives late (images, video) must not push the newest message out
   * of view: while the reader is at the bottom, the bottom stays where it is. */
  function anchorBottom() {
    const box = document.getElementById("messages");
    if (!box || !window.ResizeObserver || box.dataset.anchored) return;
    box.dataset.anchored = "1";
    box.scrollTop = box.scrollHeight;  // a conversation opens at its newest message
    let stuck = true;
    box.addEventListener("scroll", function () { stuck = atBottom(box); }, { passive: true });
    const observer = new ResizeObserver(function () { if (stuck) box.scrollTop = box.scrollHeight; });
    Array.prototype.forEach.call(box.children, function (child) { observer.observe(child); });
    new MutationObserver(function (records) {
      records.forEach(function (record) {
        record.addedNodes.forEach(function (node) { if (node.nodeType === 1) observer.observe(node); });
      });
    }).observe(box, { childList: true });
  }

  window.addEventListener("pagehide", function () { if (source) source.close(); });
  prepareMessages(document.getElementById("messages"));
  anchorBottom();
  connect();
})();
