/* Anexar arquivo: files chosen with the button, dropped on the conversation or pasted into
 * the composer wait in a tray (a thumbnail or an icon, name, size, a caption, a remove
 * button) until Enviar sends them, one message each, with a progress bar. The channel's
 * limits (data-file-rules, from the server's ChannelSpec) are checked before any upload;
 * the server checks them again. Each file has its own Idempotency-Key, so a retry after a
 * lost answer sends it once. Also the upload every composer send shares (recorder.js too).
 * Delegated on the document: conversations that live.js swaps in need no binding. */
(function () {
  "use strict";

  const trays = new WeakMap();  // form -> [{file, key, el, url}]

  function composerForm() {  // only one that takes files (a note-only composer does not)
    const textarea = document.getElementById("composer");
    return textarea && textarea.form && textarea.form.querySelector(".file-tray") ? textarea.form : null;
  }

  function rules(form) {
    try { return JSON.parse(form.dataset.fileRules || "{}"); } catch (e) { return {}; }
  }

  function kindOf(file) {
    const family = (file.type || "").split("/")[0];
    return ["image", "audio", "video"].indexOf(family) >= 0 ? family : "document";
  }

  // What browsers call some types the server names otherwise (media.sniff).
  const ALIASES = { "audio/x-m4a": "audio/mp4", "audio/mp3": "audio/mpeg", "audio/x-aac": "audio/aac",
                    "video/3gp": "video/3gpp", "image/jpg": "image/jpeg" };

  /* The channel takes this type of file? Unknown types (no file.type) go to the server, which decides. */
  function typeTaken(limits, kind, file) {
    const types = (limits.types || {})[kind];
    if (!types || !types.length || !file.type) return true;
    const type = ALIASES[file.type] || file.type;
    return types.indexOf(type) >= 0;
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  function sizeText(bytes) {
    const lang = document.documentElement.lang || "pt-BR";
    const units = [["B", 1], ["KB", 1024], ["MB", 1024 * 1024], ["GB", 1024 * 1024 * 1024]];
    for (let i = 0; i < units.length; i++) {
      const value = bytes / units[i][1];
      if (value < 999.5 || i === units.length - 1) {
        const digits = value >= 10 || i === 0 ? 0 : 1;
        return new Intl.NumberFormat(lang, { maximumFractionDigits: digits }).format(value) + " " + units[i][0];
      }
    }
    return "";
  }

  function fill(template, values) {
    return (template || "").replace(/%\((\w+)\)s/g, function (all, name) { return name in values ? values[name] : all; });
  }

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function showError(text) {
    const error = document.getElementById("composer-error");
    if (!error) return;
    error.textContent = text;
    error.hidden = !text;
  }

  /* POST multipart to the composer's route with a progress callback (fetch has none for
   * uploads). Resolves {status, json}; a network failure resolves status 0. */
  function upload(form, fields, key, onProgress) {
    return new Promise(function (resolve) {
      const data = new FormData();
      const token = form.querySelector("input[name=csrf_token]");
      if (token) data.append("csrf_token", token.value);
      Object.keys(fields).forEach(function (name) {
        const value = fields[name];
        if (value === undefined || value === null || value === "") return;
        if (Array.isArray(value)) data.append(name, value[0], value[1]); else data.append(name, value);
      });
      const request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.setRequestHeader("Accept", "application/json");
      request.setRequestHeader("X-CSRFToken", csrfToken());
      if (key) request.setRequestHeader("Idempotency-Key", key);
      request.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total);
      });
      request.addEventListener("load", function () {
        let json = {};
        try { json = JSON.parse(request.responseText); } catch (e) { /* an HTML error page */ }
        resolve({ status: request.status, json: json });
      });
      request.addEventListener("error", function () { resolve({ status: 0, json: {} }); });
      request.send(data);
    });
  }

  function refusal(answer, form) {
    if (answer.status === 0) return document.body.dataset.offlineLabel || "offline";
    const error = answer.json && answer.json.error;
    if (error && error.fields && error.fields.file) return error.fields.file;
    return (error && error.message) || String(answer.status);
  }

  /* -- the tray ---------------------------------------------------------------------- */
  function items(form) {
    if (!trays.has(form)) trays.set(form, []);
    return trays.get(form);
  }

  function refreshTray(form) {
    const tray = form.querySelector(".file-tray");
    const list = items(form);
    if (tray) tray.hidden = list.length === 0;
    const textarea = document.getElementById("composer");
    // With files waiting, an empty text is fine: Enviar sends the files.
    if (textarea) textarea.required = list.length === 0;
  }

  function addFiles(form, files, options) {
    options = options || {};
    const tray = form.querySelector(".file-tray");
    if (!tray || !files || !files.length) return;
    const limits = rules(form);
    const refused = [];
    Array.prototype.forEach.call(files, function (file) {
      const kind = kindOf(file);
      const limit = limits[kind];
      const kindWord = tray.dataset["kind" + kind[0].toUpperCase() + kind.slice(1)];
      if (!typeTaken(limits, kind, file)) {
        refused.push(fill(tray.dataset.wrongType, { name: file.name, channel: limits.channel || "", kind: kindWord }));
        return;
      }
      if (limit && file.size > limit) {
        refused.push(fill(tray.dataset.tooLarge, {
          name: file.name, channel: limits.channel || "", kind: tray.dataset["kind" + kind[0].toUpperCase() + kind.slice(1)],
          limit: sizeText(limit),
        }));
        return;
      }
      const item = { file: file, key: options.key || newKey(), kind: kind, voice: !!options.voice,
                     captionText: options.caption || "" };
      item.el = renderItem(form, tray, item, limits);
      items(form).push(item);
    });
    showError(refused.join(" "));
    refreshTray(form);
    const textarea = document.getElementById("composer");
    if (textarea) textarea.focus();
  }

  function renderItem(form, tray, item, limits) {
    const el = document.createElement("div");
    el.className = "file-item";
    el.setAttribute("role", "listitem");
    let preview;
    if (item.kind === "image") {
      preview = document.createElement("img");
      item.url = URL.createObjectURL(item.file);
      preview.src = item.url;
      preview.alt = "";
    } else {
      preview = document.createElement("span");
      preview.textContent = { audio: "🎵", video: "🎬" }[item.kind] || "📄";
      preview.setAttribute("aria-hidden", "true");
    }
    preview.className = "file-thumb";
    const info = document.createElement("div");
    info.className = "file-info";
    const name = document.createElement("span");
    name.className = "file-name";
    name.textContent = item.file.name || "arquivo";
    name.title = item.file.name || "";
    const size = document.createElement("span");
    size.className = "file-size";
    size.textContent = sizeText(item.file.size);
    const caption = document.createElement("input");
    caption.type = "text";
    caption.className = "file-caption";
    caption.maxLength = 4096;
    caption.placeholder = tray.dataset.captionLabel || "";
    caption.setAttribute("aria-label", (tray.dataset.captionLabel || "") + " — " + name.textContent);
    if ((limits.captions || []).indexOf(item.kind) < 0) caption.title = fill(tray.dataset.captionApart, { channel: limits.channel || "" });
    caption.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.isComposing) { event.preventDefault(); form.requestSubmit(); }
    });
    const progress = document.createElement("progress");
    progress.className = "file-progress";
    progress.max = 1; progress.value = 0; progress.hidden = true;
    const problem = document.createElement("span");
    problem.className = "file-error";
    problem.setAttribute("role", "alert");
    problem.hidden = true;
    info.append(name, size, caption, progress, problem);
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "file-remove";
    remove.textContent = "×";
    remove.setAttribute("aria-label", (tray.dataset.removeLabel || "×") + " — " + name.textContent);
    remove.title = tray.dataset.removeLabel || "";
    remove.addEventListener("click", function () { removeItem(form, item); });
    el.append(preview, info, remove);
    item.caption = caption; item.progress = progress; item.problem = problem;
    if (item.captionText) caption.value = item.captionText;
    tray.append(el);
    return el;
  }

  function removeItem(form, item) {
    const list = items(form);
    const index = list.indexOf(item);
    if (index >= 0) list.splice(index, 1);
    if (item.url) URL.revokeObjectURL(item.url);
    item.el.remove();
    refreshTray(form);
  }

  /* Enviar with files waiting: each goes as its own message, in order, its caption with it;
   * the first carries the quote. Stops at the first refusal, which stays on its file. */
  function sendAll(form) {
    const list = items(form).slice();
    let chain = Promise.resolve(true);
    list.forEach(function (item, index) {
      chain = chain.then(function (ok) {
        if (!ok) return false;
        item.progress.hidden = false;
        item.problem.hidden = true;
        item.el.classList.add("is-sending");
        const quoted = index === 0 ? form.querySelector("input[name=quoted_id]") : null;
        return upload(form, { file: [item.file, item.file.name || "arquivo"], text: item.caption.value.trim(),
                              voice: item.voice ? "true" : "", quoted_id: quoted ? quoted.value : "" }, item.key,
          function (share) { item.progress.value = share; }
        ).then(function (answer) {
          item.el.classList.remove("is-sending");
          if (answer.status === 201 || answer.status === 200) {
            removeItem(form, item);
            if (window.AtendimentoLive && answer.json.message) window.AtendimentoLive.showMessage(answer.json.message, answer.json.html);
            return true;
          }
          item.progress.hidden = true;
          item.problem.textContent = refusal(answer, form);
          item.problem.hidden = false;
          return false;
        });
      });
    });
    return chain;
  }

  /* -- where files come from ---------------------------------------------------------- */
  document.addEventListener("click", function (event) {
    if (!event.target.closest("#btn-attach")) return;
    const input = document.getElementById("composer-files");
    if (input) input.click();
  });
  document.addEventListener("change", function (event) {
    if (event.target.id !== "composer-files") return;
    const form = composerForm();
    if (form) addFiles(form, event.target.files);
    event.target.value = "";  // the same file may be chosen again
  });
  document.addEventListener("paste", function (event) {
    const form = composerForm();
    if (!form || !form.contains(event.target)) return;
    const files = event.clipboardData && event.clipboardData.files;
    if (!files || !files.length) return;  // plain text pastes as usual
    event.preventDefault();
    addFiles(form, files);
  });

  function dropZone() { return document.querySelector(".conversation-pane"); }
  function carriesFiles(event) {
    return event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types || [], "Files") >= 0;
  }
  let dragDepth = 0;
  document.addEventListener("dragenter", function (event) {
    const zone = dropZone();
    if (!composerForm() || !zone || !carriesFiles(event)) return;
    dragDepth++;
    zone.classList.add("is-dropping");
    const tray = document.getElementById("file-tray");
    if (tray) zone.dataset.dropLabel = tray.dataset.dropLabel;
  });
  document.addEventListener("dragover", function (event) {
    if (composerForm() && carriesFiles(event)) { event.preventDefault(); event.dataTransfer.dropEffect = "copy"; }
  });
  document.addEventListener("dragleave", function (event) {
    const zone = dropZone();
    if (!zone || !carriesFiles(event)) return;
    dragDepth = Math.max(0, dragDepth - 1);
    if (!dragDepth) zone.classList.remove("is-dropping");
  });
  document.addEventListener("drop", function (event) {
    const zone = dropZone();
    const form = composerForm();
    dragDepth = 0;
    if (zone) zone.classList.remove("is-dropping");
    if (!form || !carriesFiles(event)) return;
    event.preventDefault();  // never let the browser open the file instead
    addFiles(form, event.dataTransfer.files);
  });

  window.AtendimentoFiles = {
    pending: function (form) { return items(form).length > 0; },
    sendAll: sendAll,
    upload: upload,
    refusal: refusal,
    newKey: newKey,
    add: addFiles,
  };
})();
