/* WhatsApp Business calls in the page (issue 16, part 3). live.js hands the stream's
   call.ringing / call.answered / call.ended over as "atendimento:call"; a ring shows a popup
   (Atender / Recusar), answering builds the WebRTC answer with the microphone (ICE gathered
   whole) and posts it to /calls/<id>/answer, which relays it to Meta. "Ligar pelo WhatsApp"
   on a ticket makes an offer, POST /calls/whatsapp, and polls /calls/<id>/answer-sdp.
   Strings come from #wa-calls's data-* attributes (rendered by the server). */
(function () {
  "use strict";
  const root = document.getElementById("wa-calls");
  if (!root) return;
  const L = root.dataset;
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  let current = null;  // {id, pc, stream, started, timer, el}
  let ringing = {};    // call id -> {el, stopRing}

  function fill(text, values) {
    return String(text || "").replace(/%\((\w+)\)s/g, function (_m, key) { return values[key] == null ? "" : values[key]; });
  }

  function post(url, body) {
    return fetch(url, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf }, body: JSON.stringify(body || {}) })
      .then(function (r) { return r.json().catch(function () { return {}; }).then(function (j) { return { ok: r.ok, status: r.status, json: j }; }); });
  }

  function reason(result) {
    return (result.json && result.json.error && result.json.error.message) || ("HTTP " + result.status);
  }

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }

  function button(text, cls, onClick) {
    const b = el("button", "btn " + (cls || ""), text);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  /* -- the ring: WebAudio beeps and a desktop notification ------------------------ */
  function ring() {
    let ctx = null, timer = null;
    try {
      ctx = new (window.AudioContext || window.webkitAudioContext)();
      const beep = function () {
        const osc = ctx.createOscillator(), gain = ctx.createGain();
        osc.frequency.value = 440; gain.gain.value = 0.08;
        osc.connect(gain); gain.connect(ctx.destination);
        osc.start(); osc.stop(ctx.currentTime + 0.8);
      };
      beep(); timer = setInterval(beep, 2000);
    } catch (e) { /* no audio: the popup still shows */ }
    return function () { if (timer) clearInterval(timer); if (ctx) ctx.close().catch(function () {}); };
  }

  function notify(title, body) {
    if (!("Notification" in window)) return;
    const show = function () { try { new Notification(title, { body: body }); } catch (e) { /* ignore */ } };
    if (Notification.permission === "granted") show();
    else if (Notification.permission !== "denied") Notification.requestPermission().then(function (p) { if (p === "granted") show(); });
  }

  /* -- incoming ------------------------------------------------------------------ */
  function onRinging(data) {
    if (ringing[data.call_id] || (current && current.id === data.call_id)) return;
    const name = (data.contact && data.contact.name) || data.number;
    const box = el("div", "wa-call-popup");
    box.setAttribute("role", "alertdialog");
    box.setAttribute("aria-label", L.labelIncoming);
    box.dataset.callId = data.call_id;
    box.appendChild(el("p", "wa-call-kind", L.labelIncoming));
    box.appendChild(el("p", "wa-call-name", name));
    if (data.number && data.number !== name) box.appendChild(el("p", "wa-call-number", data.number));
    const status = el("p", "wa-call-status");
    status.setAttribute("role", "status");
    box.appendChild(status);
    const actions = el("div", "wa-call-actions");
    actions.appendChild(button(L.labelAnswer, "btn-primary wa-answer", function () { answer(data, status); }));
    actions.appendChild(button(L.labelReject, "btn-danger wa-reject", function () {
      post("/calls/" + data.call_id + "/reject").then(function () { stopRinging(data.call_id); });
    }));
    box.appendChild(actions);
    root.appendChild(box);
    root.hidden = false;
    ringing[data.call_id] = { el: box, stopRing: ring() };
    notify(L.labelIncoming, name);
  }

  function stopRinging(id) {
    const r = ringing[id];
    if (!r) return;
    r.stopRing();
    r.el.remove();
    delete ringing[id];
    if (!root.children.length) root.hidden = true;
  }

  function gathered(pc) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise(function (resolve) {
      pc.addEventListener("icegatheringstatechange", function () { if (pc.iceGatheringState === "complete") resolve(); });
      setTimeout(resolve, 5000);  // what was gathered by then
    });
  }

  function media() {
    return navigator.mediaDevices.getUserMedia({ audio: true, video: false });
  }

  function peer(stream) {
    const pc = new RTCPeerConnection({ iceServers: [] });
    stream.getTracks().forEach(function (t) { pc.addTrack(t, stream); });
    const audio = el("audio"); audio.autoplay = true; audio.hidden = true; root.appendChild(audio);
    pc.addEventListener("track", function (e) { audio.srcObject = e.streams[0]; });
    return { pc: pc, audio: audio };
  }

  function answer(data, status) {
    status.textContent = L.labelConnecting;
    const r = ringing[data.call_id]; if (r) r.stopRing();
    let stream, link;
    fetch("/calls/" + data.call_id + "/offer", { credentials: "same-origin" })
      .then(function (res) { return res.json(); })
      .then(function (offer) {
        return media().catch(function (e) { throw new Error(fill(L.labelNoMicrophone, { reason: e.message })); })
          .then(function (s) {
            stream = s; link = peer(stream);
            return link.pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
          });
      })
      .then(function () { return link.pc.createAnswer(); })
      .then(function (a) { return link.pc.setLocalDescription(a); })
      .then(function () { return gathered(link.pc); })
      .then(function () { return post("/calls/" + data.call_id + "/answer", { sdp: link.pc.localDescription.sdp }); })
      .then(function (result) {
        if (result.status === 409) { taken(data.call_id, reason(result)); throw null; }
        if (!result.ok) throw new Error(fill(L.labelFailed, { reason: reason(result) }));
        stopRinging(data.call_id);
        inCall(data.call_id, (data.contact && data.contact.name) || data.number, link, stream);
      })
      .catch(function (e) {
        if (e) status.textContent = e.message;
        if (link) link.pc.close();
        if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
      });
  }

  function taken(id, text) {
    // A teammate answered first: say who, keep the popup a moment, then let it go.
    const r = ringing[id];
    if (!r) return;
    r.stopRing();
    r.el.classList.add("is-taken");
    r.el.querySelector(".wa-call-actions").hidden = true;
    r.el.querySelector(".wa-call-status").textContent = text;
    setTimeout(function () { stopRinging(id); }, 4000);
  }

  /* -- the in-call bar ----------------------------------------------------------- */
  function inCall(id, name, link, stream) {
    const bar = el("div", "wa-call-bar");
    bar.setAttribute("role", "region");
    bar.setAttribute("aria-label", L.labelInCall);
    bar.appendChild(el("span", "wa-call-name", name));
    const clock = el("span", "wa-call-timer", "0:00");
    clock.setAttribute("aria-label", L.labelInCall);
    bar.appendChild(clock);
    const mute = button(L.labelMute, "btn-sm wa-mute", function () {
      const track = stream.getAudioTracks()[0];
      track.enabled = !track.enabled;
      mute.textContent = track.enabled ? L.labelMute : L.labelUnmute;
      mute.setAttribute("aria-pressed", String(!track.enabled));
    });
    mute.setAttribute("aria-pressed", "false");
    bar.appendChild(mute);
    bar.appendChild(button(L.labelHangup, "btn-sm btn-danger wa-hangup", function () {
      post("/calls/" + id + "/terminate").then(function () { endCall(id); });
    }));
    root.appendChild(bar);
    root.hidden = false;
    const started = Date.now();
    const timer = setInterval(function () {
      const s = Math.floor((Date.now() - started) / 1000);
      clock.textContent = Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
    }, 1000);
    current = { id: id, pc: link.pc, audio: link.audio, stream: stream, timer: timer, el: bar };
    window.AtendimentoWhatsAppCall = current;  // tests read getStats through it
  }

  function endCall(id) {
    stopRinging(id);
    if (!current || current.id !== id) return;
    clearInterval(current.timer);
    current.pc.close();
    current.stream.getTracks().forEach(function (t) { t.stop(); });
    current.audio.remove();
    current.el.remove();
    current = null;
    if (!root.children.length) root.hidden = true;
  }

  /* -- placed from a ticket ------------------------------------------------------ */
  function place(ticketId, trigger, name) {
    let stream, link, id;
    trigger.disabled = true;
    media().then(function (s) {
      stream = s; link = peer(stream);
      return link.pc.createOffer();
    })
      .then(function (o) { return link.pc.setLocalDescription(o); })
      .then(function () { return gathered(link.pc); })
      .then(function () { return post("/calls/whatsapp", { ticket_id: Number(ticketId), sdp: link.pc.localDescription.sdp }); })
      .then(function (result) {
        if (!result.ok) throw new Error(fill(L.labelFailed, { reason: reason(result) }));
        id = result.json.id;
        inCall(id, name || L.labelCalling, link, stream);
        const calling = el("span", "wa-call-calling", L.labelCalling);
        current.el.insertBefore(calling, current.el.children[1]);
        return waitAnswer(id).then(function (answerSdp) { calling.remove(); return answerSdp; });
      })
      .then(function (answerSdp) {
        if (answerSdp) return link.pc.setRemoteDescription({ type: "answer", sdp: answerSdp.sdp });
      })
      .catch(function (e) {
        if (link) link.pc.close();
        if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
        if (id) endCall(id);
        const note = el("p", "wa-call-popup wa-call-error", e.message);
        note.setAttribute("role", "alert");
        root.appendChild(note); root.hidden = false;
        setTimeout(function () { note.remove(); if (!root.children.length) root.hidden = true; }, 8000);
      })
      .then(function () { trigger.disabled = false; });
  }

  function waitAnswer(id) {
    return new Promise(function (resolve) {
      const poll = setInterval(function () {
        fetch("/calls/" + id + "/answer-sdp", { credentials: "same-origin" }).then(function (r) { return r.json(); })
          .then(function (j) {
            if (j.answer || j.ended) { clearInterval(poll); resolve(j.answer); }
          }, function () { /* try again */ });
      }, 1000);
    });
  }

  document.addEventListener("click", function (e) {
    const trigger = e.target.closest && e.target.closest("[data-wa-call-ticket]");
    if (trigger) place(trigger.dataset.waCallTicket, trigger, trigger.dataset.waCallName);
  });

  document.addEventListener("atendimento:call", function (e) {
    const name = e.detail.name, data = e.detail.data || {};
    if (data.channel !== "whatsapp") return;
    if (name === "call.ringing") onRinging(data);
    else if (name === "call.answered" && !(current && current.id === data.call_id)) {
      taken(data.call_id, fill(L.labelAnsweredElsewhere, { name: data.by_name || "" }));
    }
    else if (name === "call.ended") endCall(data.call_id);
  });
})();
