/* The softphone (issue 16): a JsSIP user agent registered with the user's own SIP account or,
 * lacking one, their team line (GET /softphone/config: config.line names its connection), one
 * call at a time, each step recorded through /calls. On a team line every teammate's softphone
 * rings: the PBX gives the call to the first that answers and cancels the others ("Call
 * completed elsewhere"), and the server keeps one record (sip_call_id) decided by its answer. Labels come
 * from data-label-* on #softphone so the server translates them. window.AtendimentoSoftphone
 * exposes the state and the current session (the browser tests read its RTCPeerConnection). */
(function () {
  "use strict";
  const root = document.getElementById("softphone");
  if (!root || !root.dataset.configUrl) return;
  const L = function (name) { return root.dataset["label" + name] || name; };
  const api = window.AtendimentoSoftphone = { state: "idle", session: null, ua: null, callId: null, notice: "", receivedDtmf: "" };
  let config = null, domain = "", current = null, timer = null, ringer = null, lastLocalCallId = "";
  function onTeamLine() { return Boolean(config && config.line); }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) node.textContent = text;
    return node;
  }
  function button(label, cls, onClick) {
    const b = el("button", { type: "button", class: "sp-btn " + (cls || "") }, label);
    b.addEventListener("click", onClick);
    return b;
  }

  /* ---- the widget ---- */
  const bar = el("div", { class: "sp-bar" });
  const dot = el("span", { class: "sp-dot", "aria-hidden": "true" });
  const status = el("span", { class: "sp-status", role: "status", "aria-live": "polite" }, L("Registering"));
  const toggle = el("button", { type: "button", class: "sp-btn sp-toggle", "aria-expanded": "false", "aria-controls": "softphone-panel" }, L("Keypad"));
  bar.append(dot, el("span", { class: "sp-title" }, L("Phone")), status, toggle);
  const panel = el("div", { class: "sp-panel", id: "softphone-panel", hidden: "" });
  const notice = el("p", { class: "sp-notice", role: "alert" });
  notice.hidden = true;

  const form = el("form", { class: "sp-dial" });
  const number = el("input", { type: "tel", class: "sp-number", "aria-label": L("Number"), autocomplete: "off", inputmode: "tel" });
  const dialButton = el("button", { type: "submit", class: "sp-btn sp-call" }, L("Call"));
  form.append(number, dialButton);
  const pad = el("div", { class: "sp-pad", role: "group", "aria-label": L("Keypad") });
  "123456789*0#".split("").forEach(function (key) {
    pad.append(button(key, "sp-key", function () { pressKey(key); }));
  });

  const incoming = el("div", { class: "sp-incoming", role: "alertdialog", "aria-label": L("IncomingCall") });
  incoming.hidden = true;
  const incomingText = el("p", { class: "sp-who" });
  const answerBtn = button(L("Answer"), "sp-answer", function () { answer(); });
  const rejectBtn = button(L("Reject"), "sp-reject", function () { reject(); });
  const ticketBtn = button(L("OpenTicket"), "", function () { openTicket(); });
  incoming.append(incomingText, el("div", { class: "sp-row" }), answerBtn, rejectBtn, ticketBtn);

  const inCall = el("div", { class: "sp-incall" });
  inCall.hidden = true;
  const peer = el("p", { class: "sp-who" });
  const clock = el("span", { class: "sp-timer", "aria-label": L("Duration") }, "00:00");
  const muteBtn = button(L("Mute"), "", function () { toggleMute(); });
  const holdBtn = button(L("Hold"), "", function () { toggleHold(); });
  const transferBtn = button(L("Transfer"), "", function () { transferForm.hidden = !transferForm.hidden; if (!transferForm.hidden) transferTo.focus(); });
  const hangupBtn = button(L("HangUp"), "sp-reject", function () { hangup(); });
  muteBtn.setAttribute("aria-pressed", "false");
  holdBtn.setAttribute("aria-pressed", "false");
  const transferForm = el("form", { class: "sp-dial" });
  transferForm.hidden = true;
  const transferTo = el("input", { type: "tel", class: "sp-number", "aria-label": L("TransferTo"), autocomplete: "off" });
  transferForm.append(transferTo, el("button", { type: "submit", class: "sp-btn" }, L("TransferNow")));
  const controls = el("div", { class: "sp-row" });
  controls.append(muteBtn, holdBtn, transferBtn, hangupBtn);
  inCall.append(peer, clock, controls, transferForm);

  const audio = el("audio", { autoplay: "", class: "sp-audio" });
  panel.append(notice, incoming, inCall, form, pad);
  root.append(bar, panel, audio);
  root.hidden = false;

  function openPanel(open) {
    panel.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
  }
  toggle.addEventListener("click", function () { openPanel(panel.hidden); if (!panel.hidden) number.focus(); });
  root.addEventListener("keydown", function (e) { if (e.key === "Escape" && !current) { openPanel(false); toggle.focus(); } });

  function setStatus(state, text) {
    root.dataset.registration = state;
    status.textContent = text;
  }
  function say(text) {
    api.notice = text;
    notice.textContent = text;
    notice.hidden = !text;
  }
  function setState(state) {
    api.state = state;
    root.dataset.state = state;
    incoming.hidden = state !== "ringing";
    inCall.hidden = state !== "incall" && state !== "calling";
    form.hidden = state === "incall" || state === "calling" || state === "ringing";
    pad.hidden = state === "ringing";
    if (state !== "idle") openPanel(true);
  }

  /* ---- server records ---- */
  function csrf() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }
  function send(method, url, body) {
    return fetch(url, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify(body)
    }).then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); });
  }
  function record(call, body) {
    // Steps wait for the call's id, in order.
    call.steps = call.steps.then(function () {
      if (!call.id) return null;
      return send("PATCH", root.dataset.callsUrl + "/" + call.id, body).catch(function () { return null; });
    });
    return call.steps;
  }
  function newCall(direction, num, extra, sipCallId) {
    const call = Object.assign({ direction: direction, number: num, answered: false, done: false }, extra || {});
    const body = Object.assign({ channel: "sip", direction: direction, number: num }, extra || {});
    if (sipCallId) body.sip_call_id = sipCallId;
    call.steps = send("POST", root.dataset.callsUrl, body)
      .then(function (json) { call.id = json.id; api.callId = json.id; return json; })
      .catch(function () { return null; });
    return call;
  }

  /* ---- ring and notification ---- */
  let audioContext = null;
  function ring() {
    stopRing();
    try {
      audioContext = audioContext || new (window.AudioContext || window.webkitAudioContext)();
    } catch (e) { return; }
    const burst = function () {
      const gain = audioContext.createGain();
      gain.gain.value = 0.08;
      gain.connect(audioContext.destination);
      [440, 480].forEach(function (hz) {
        const osc = audioContext.createOscillator();
        osc.frequency.value = hz;
        osc.connect(gain);
        osc.start();
        osc.stop(audioContext.currentTime + 1.2);
      });
    };
    burst();
    ringer = setInterval(burst, 3000);
  }
  function stopRing() {
    if (ringer) clearInterval(ringer);
    ringer = null;
  }
  function notify(text) {
    if (window.Notification && Notification.permission === "granted") {
      const note = new Notification(L("IncomingCall"), { body: text, tag: "softphone-call" });
      note.onclick = function () { window.focus(); note.close(); };
    }
  }

  /* ---- calls ---- */
  function startTimer(call) {
    const start = Date.now();
    clock.textContent = "00:00";
    timer = setInterval(function () {
      const s = Math.floor((Date.now() - start) / 1000);
      clock.textContent = String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
    }, 1000);
    call.answered = true;
  }
  function attachAudio(pc) {
    pc.addEventListener("track", function (e) {
      if (e.streams && e.streams[0]) audio.srcObject = e.streams[0];
    });
  }
  function finish(call, body) {
    if (call.done) return;
    call.done = true;
    if (!call.lost) record(call, Object.assign({ ended: true }, body || {}));
    if (current === call) {
      current = null;
      api.session = null;
      stopRing();
      if (timer) clearInterval(timer);
      timer = null;
      muteBtn.setAttribute("aria-pressed", "false");
      holdBtn.setAttribute("aria-pressed", "false");
      transferForm.hidden = true;
      audio.srcObject = null;
      setState("idle");
    }
  }
  function outcomeOf(call, cause) {
    const C = JsSIP.C.causes;
    if (call.direction === "in") return call.refused ? "rejected" : "missed";
    if (cause === C.BUSY || cause === C.REJECTED) return "rejected";
    if (cause === C.CANCELED || cause === C.NO_ANSWER || cause === C.REQUEST_TIMEOUT || cause === C.UNAVAILABLE) return "missed";
    return "failed";
  }
  function wire(call, session) {
    call.session = session;
    api.session = session;
    session.on("peerconnection", function (e) { attachAudio(e.peerconnection); });
    if (session.connection) attachAudio(session.connection);
    session.on("accepted", function () {
      stopRing();
      startTimer(call);
      setState("incall");
      if (call.direction === "in" && onTeamLine()) claim(call);
      else record(call, { outcome: "answered" });
    });
    session.on("newDTMF", function (e) {
      if (e.originator === "remote") api.receivedDtmf += e.dtmf.tone;  // for the tests' eyes
    });
    session.on("refer", function (e) {
      // The other side transfers us (blind): call the target; this call ends when they hang up.
      const target = e.request.refer_to.uri.user || "";
      e.accept(function (next) {
        const moved = newCall("out", target, { ticket_id: call.ticket_id, contact_id: call.contact_id });
        current = moved;
        peer.textContent = target;
        clock.textContent = L("CallingNow");
        setState("calling");
        wire(moved, next);
      }, { mediaConstraints: { audio: true, video: false }, pcConfig: { iceServers: config.ice_servers || [] } });
    });
    session.on("ended", function (e) { api.lastCause = e.cause; finish(call); });
    session.on("failed", function (e) {
      api.lastCause = e.cause;
      if (answeredElsewhere(e)) {
        // A teammate took this call on the team line: nothing of ours to record.
        call.lost = true;
        finish(call);
        say(L("AnsweredElsewhere") + " " + peer.textContent);
        return;
      }
      if (call.answered) finish(call);
      else finish(call, { outcome: outcomeOf(call, e.cause) });
      if (call.direction === "out" && !call.answered) say(L("CallFailed") + ": " + e.cause);
    });
  }

  function answeredElsewhere(e) {
    // RFC 3326: the PBX's CANCEL says why; cause 200 is an answer on another branch.
    const reason = e.originator === "remote" && e.message && e.message.method === "CANCEL" && e.message.getHeader("Reason");
    return Boolean(reason && /cause\s*=\s*200\b/i.test(reason));
  }
  function claim(call) {
    // Two teammates answering in the same instant: the database picks one, the other hangs up.
    call.steps = call.steps.then(function () {
      if (!call.id) return null;
      return fetch(root.dataset.callsUrl + "/" + call.id, {
        method: "PATCH", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf() },
        body: JSON.stringify({ outcome: "answered" })
      }).then(function (r) {
        if (r.status !== 409) return null;
        return r.json().then(function (json) {
          call.lost = true;
          if (call.session && !call.session.isEnded()) call.session.terminate();
          say((json.error && json.error.message) || L("AnsweredElsewhere"));
        });
      }).catch(function () { return null; });
    });
  }

  function dial(num, extra) {
    num = String(num || "").replace(/[^0-9*#+A-Za-z._-]/g, "");
    if (!num) return;
    if (!api.ua || !api.ua.isRegistered()) { say(L("NotRegistered")); openPanel(true); return; }
    if (current) { say(L("AlreadyInCall")); openPanel(true); return; }
    say("");
    lastLocalCallId = "";
    const session = api.ua.call("sip:" + num + "@" + domain, {
      mediaConstraints: { audio: true, video: false },
      pcConfig: { iceServers: config.ice_servers || [] },
      rtcOfferConstraints: { offerToReceiveAudio: true, offerToReceiveVideo: false }
    });
    const call = newCall("out", num, extra, lastLocalCallId);  // newRTCSession ran inside ua.call
    current = call;
    peer.textContent = num;
    setState("calling");
    clock.textContent = L("CallingNow");
    wire(call, session);
  }

  function onIncoming(session, request) {
    const from = session.remote_identity;
    const num = (from.uri && from.uri.user) || "";
    const caller = from.display_name && from.display_name !== num ? from.display_name + " (" + num + ")" : num;
    if (current) {
      // One call at a time: busy here, and the caller is recorded as missed for this user
      // (on a team line only this phone says busy: the teammates' go on ringing).
      session.terminate({ status_code: 486, reason_phrase: "Busy Here" });
      if (onTeamLine()) return;
      const busy = newCall("in", num);
      busy.done = true;
      record(busy, { outcome: "missed", ended: true });
      say(L("BusyRejected") + " " + caller);
      return;
    }
    say("");
    const call = newCall("in", num, null, request && request.call_id);
    current = call;
    wire(call, session);
    incomingText.textContent = L("CallFrom") + " " + caller;
    peer.textContent = caller;
    setState("ringing");
    ring();
    notify(caller);
    answerBtn.focus();
    fetch(root.dataset.callerUrl + "?number=" + encodeURIComponent(num), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (json) {
        if (!json || current !== call) return;
        call.caller = json;
        if (json.contact) {
          const who = json.contact.name + " (" + (json.contact.phone || num) + ")";
          incomingText.textContent = L("CallFrom") + " " + who;
          peer.textContent = who;
          notify(who);
        }
      }).catch(function () {});
  }

  function answer() {
    if (!current || api.state !== "ringing") return;
    stopRing();
    current.session.answer({ mediaConstraints: { audio: true, video: false }, pcConfig: { iceServers: config.ice_servers || [] } });
  }
  function reject() {
    if (!current || api.state !== "ringing") return;
    if (onTeamLine()) {
      // Declining here must not stop the teammates' phones (a 6xx would: RFC 3261 16.7).
      current.lost = true;
      current.session.terminate({ status_code: 486, reason_phrase: "Busy Here" });
      return;
    }
    current.refused = true;
    current.session.terminate({ status_code: 603, reason_phrase: "Decline" });
  }
  function hangup() {
    if (current && current.session && !current.session.isEnded()) current.session.terminate();
  }
  function openTicket() {
    const call = current;
    if (!call) return;
    const go = function (url) {
      // Leaving the page ends the call: while one is up, the ticket opens in a new tab.
      if (api.state === "incall") window.open(url, "_blank", "noopener");
      else location.href = url;
    };
    if (call.caller && call.caller.ticket) { go(call.caller.ticket.url); return; }
    call.steps.then(function () {
      if (!call.id) return null;
      return send("POST", root.dataset.callsUrl + "/" + call.id + "/ticket", {});
    }).then(function (json) { if (json && json.ticket) go(json.ticket.url); }).catch(function () {});
  }
  function toggleMute() {
    const s = current && current.session;
    if (!s) return;
    const muted = s.isMuted().audio;
    if (muted) s.unmute({ audio: true }); else s.mute({ audio: true });
    muteBtn.setAttribute("aria-pressed", String(!muted));
  }
  function toggleHold() {
    const s = current && current.session;
    if (!s) return;
    const held = s.isOnHold().local;
    // One re-INVITE at a time: a second one while the first is pending is refused (403).
    holdBtn.disabled = true;
    const done = function () { holdBtn.disabled = false; };
    setTimeout(done, 5000);
    const sent = held ? s.unhold({}, done) : s.hold({}, done);
    if (!sent) { done(); return; }
    holdBtn.setAttribute("aria-pressed", String(!held));
  }
  function pressKey(key) {
    if (current && api.state === "incall") current.session.sendDTMF(key);
    else { number.value += key; number.focus(); }
  }
  form.addEventListener("submit", function (e) { e.preventDefault(); dial(number.value); });
  transferForm.addEventListener("submit", function (e) {
    e.preventDefault();
    const to = transferTo.value.replace(/[^0-9*#+A-Za-z._-]/g, "");
    if (!to || !current) return;
    const session = current.session;
    session.refer("sip:" + to + "@" + domain, { eventHandlers: {
      // The transferee reached the target: our part of the call is over.
      accepted: function () { if (!session.isEnded()) session.terminate(); },
      failed: function () { say(L("CallFailed") + ": " + to); }
    } });
    say(L("Transferred") + " " + to);
  });
  document.addEventListener("click", function (e) {
    const target = e.target.closest && e.target.closest("[data-call-number]");
    if (!target || root.contains(target)) return;
    e.preventDefault();
    const extra = {};
    if (target.dataset.ticketId) extra.ticket_id = Number(target.dataset.ticketId);
    if (target.dataset.contactId) extra.contact_id = Number(target.dataset.contactId);
    dial(target.dataset.callNumber, extra);
  });

  /* ---- registration ---- */
  function start(conf) {
    config = conf;
    domain = String(conf.sip_uri).replace(/^sips?:/, "").split("@").pop().split(";")[0];
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      setStatus("failed", L("Unregistered") + ": " + L("NeedsHttps"));
      return;
    }
    if (!window.JsSIP) { setStatus("failed", L("Unregistered")); return; }
    const ua = api.ua = new JsSIP.UA({
      sockets: [new JsSIP.WebSocketInterface(conf.ws_url)],
      uri: conf.sip_uri, authorization_user: conf.authorization_user, password: conf.password,
      display_name: conf.display_name, register: true, session_timers: false, user_agent: "Atendimento"
    });
    let registered = false;
    ua.on("connecting", function () { if (!registered) setStatus("registering", L("Registering")); });
    const ready = conf.line ? L("Ready") + " · " + L("TeamLine") + " " + conf.line.name : L("Ready");
    ua.on("registered", function () { registered = true; setStatus("registered", ready); });
    ua.on("unregistered", function () { registered = false; setStatus("failed", L("Unregistered")); });
    ua.on("disconnected", function () {
      registered = false;
      setStatus("failed", L("Unregistered") + ": " + L("NoWebSocket"));
    });
    ua.on("registrationFailed", function (e) {
      registered = false;
      const code = e.response && e.response.status_code;
      let why = e.cause;
      if (code === 401 || code === 403 || code === 407) why = L("PasswordRefused");
      else if (e.cause === JsSIP.C.causes.CONNECTION_ERROR) why = L("NoWebSocket");
      else if (code) why = code + " " + (e.response.reason_phrase || "");
      setStatus("failed", L("Unregistered") + ": " + why);
    });
    ua.on("newRTCSession", function (e) {
      if (e.originator === "remote") onIncoming(e.session, e.request);
      else lastLocalCallId = (e.request && e.request.call_id) || "";
    });
    ua.start();
  }

  setStatus("registering", L("Registering"));
  setState("idle");
  fetch(root.dataset.configUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (r) {
      if (r.status === 404) { root.hidden = true; return null; }
      return r.ok ? r.json() : Promise.reject(r.status);
    })
    .then(function (conf) { if (conf) start(conf); })
    .catch(function () { setStatus("failed", L("Unregistered")); });
  window.addEventListener("beforeunload", function () { if (api.ua) api.ua.stop(); });
})();
