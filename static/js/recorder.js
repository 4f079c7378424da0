/* Gravar áudio: records in the browser (MediaRecorder, mono, 32 kbps Opus where the browser
 * has it — WebM in Chromium and Firefox, MP4/AAC in Safari), shows the running time, and is
 * cancelled (Cancelar gravação, Esc) or sent (Enviar gravação) as a voice note: the server
 * converts whatever was recorded to OGG/Opus mono for the channel. A microphone refused, or
 * a page not on HTTPS/localhost, is told in plain words. Uses attachments.js's upload.
 * Delegated on the document: conversations that live.js swaps in need no binding. */
(function () {
  "use strict";

  const TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4;codecs=mp4a.40.2", "audio/mp4"];
  const MAX_SECONDS = 15 * 60;  // a voice note, not a meeting
  let session = null;  // {recorder, stream, chunks, started, timer, form}

  function el(id) { return document.getElementById(id); }

  function fill(template, values) {
    return (template || "").replace(/%\((\w+)\)s/g, function (all, name) { return name in values ? values[name] : all; });
  }

  function showError(text) {
    const error = el("composer-error");
    if (!error) return;
    error.textContent = text || "";
    error.hidden = !text;
  }

  function clock(seconds) {
    const whole = Math.floor(seconds);
    return Math.floor(whole / 60) + ":" + String(whole % 60).padStart(2, "0");
  }

  function pickType() {
    if (!window.MediaRecorder || !MediaRecorder.isTypeSupported) return "";
    for (let i = 0; i < TYPES.length; i++) if (MediaRecorder.isTypeSupported(TYPES[i])) return TYPES[i];
    return "";
  }

  function setRecording(form, on) {
    form.classList.toggle("is-recording", on);
    el("composer-recording").hidden = !on;
  }

  function start(button) {
    const form = button.form || el("composer").form;
    showError("");
    if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      showError(button.dataset.insecure);
      return;
    }
    button.disabled = true;
    navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true } })
      .then(function (stream) {
        const type = pickType();
        const options = { audioBitsPerSecond: 32000 };
        if (type) options.mimeType = type;
        const recorder = new MediaRecorder(stream, options);
        session = { recorder: recorder, stream: stream, chunks: [], started: Date.now(), form: form };
        recorder.addEventListener("dataavailable", function (event) {
          if (event.data && event.data.size) session.chunks.push(event.data);
        });
        recorder.start(250);
        setRecording(form, true);
        tick();
        session.timer = setInterval(tick, 250);
        el("btn-record-send").focus();
      }, function (error) {
        const name = error && error.name;
        if (name === "NotAllowedError" || name === "SecurityError") showError(button.dataset.refused);
        else if (name === "NotFoundError" || name === "OverconstrainedError") showError(button.dataset.noMicrophone);
        else showError(fill(button.dataset.failed, { reason: (error && error.message) || name || "?" }));
      })
      .then(function () { button.disabled = false; });
  }

  function tick() {
    if (!session) return;
    const seconds = (Date.now() - session.started) / 1000;
    el("rec-time").textContent = clock(seconds);
    if (seconds >= MAX_SECONDS) finish(true);
  }

  /* Stop the recorder and the microphone; resolves the recording (a Blob) once the last
   * chunk has arrived. */
  function stop() {
    const current = session;
    session = null;
    clearInterval(current.timer);
    return new Promise(function (resolve) {
      current.recorder.addEventListener("stop", function () {
        current.stream.getTracks().forEach(function (track) { track.stop(); });
        resolve({ blob: new Blob(current.chunks, { type: current.recorder.mimeType || "audio/webm" }),
                  form: current.form, seconds: (Date.now() - current.started) / 1000 });
      }, { once: true });
      if (current.recorder.state !== "inactive") current.recorder.stop(); else current.recorder.dispatchEvent(new Event("stop"));
    });
  }

  function cancel() {
    if (!session) return;
    stop().then(function (done) { setRecording(done.form, false); el("composer").focus(); });
  }

  function finish() {
    if (!session) return;
    const bar = el("composer-recording");
    const progress = bar.querySelector(".rec-progress");
    const sendButton = el("btn-record-send");
    sendButton.disabled = true;
    stop().then(function (done) {
      const files = window.AtendimentoFiles;
      const extension = /mp4/.test(done.blob.type) ? "m4a" : /ogg/.test(done.blob.type) ? "ogg" : "webm";
      const quoted = done.form.querySelector("input[name=quoted_id]");
      const key = files.newKey();
      progress.hidden = false;
      progress.value = 0;
      const send = function () {
        return files.upload(done.form, { file: [done.blob, "gravacao." + extension], voice: "true",
                                         quoted_id: quoted ? quoted.value : "" }, key,
          function (share) { progress.value = Math.round(share * 100); });
      };
      return send().then(function (answer) {
        progress.hidden = true;
        sendButton.disabled = false;
        setRecording(done.form, false);
        if (answer.status === 201 || answer.status === 200) {
          done.form.dispatchEvent(new CustomEvent("composer:sent", { bubbles: true }));
          if (window.AtendimentoLive && answer.json.message) window.AtendimentoLive.showMessage(answer.json.message, answer.json.html);
          el("composer").focus();
          return;
        }
        // Not lost: the recording waits in the tray, as a voice note, for Enviar to try again.
        files.add(done.form, [new File([done.blob], "gravacao." + extension, { type: done.blob.type })],
                  { voice: true, key: key });
        showError(files.refusal(answer, done.form));
      });
    });
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("#btn-record");
    if (button) { start(button); return; }
    if (event.target.closest("#btn-record-cancel")) { cancel(); return; }
    if (event.target.closest("#btn-record-send")) finish();
  });
  document.addEventListener("keydown", function (event) {
    if (session && event.key === "Escape") { event.preventDefault(); cancel(); }
  });
  // Leaving the conversation (live.js swaps it out) or the page ends the recording.
  window.addEventListener("pagehide", cancel);
})();
