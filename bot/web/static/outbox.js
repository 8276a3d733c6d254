"use strict";
// The page's outbox: every message waits here until the server has it. Sent one at a time in
// order, each with a random id (the server answers a repeat from memory, never twice); on a
// failure the message shows "not sent yet" and goes again when the line comes back.
(function () {
  const labels = document.body.dataset;
  const queue = [];
  let busy = false;
  let delay = 1000;

  function newId() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function mark(bubble, state, text) {
    if (!bubble) return;
    let note = bubble.querySelector(".state");
    if (!state) {
      delete bubble.dataset.state;
      if (note) note.remove();
      return;
    }
    if (!note) {
      note = document.createElement("small");
      note.className = "state";
      bubble.appendChild(note);
    }
    bubble.dataset.state = state;
    note.textContent = text || (state === "failed" ? labels.failed : labels.sending);
  }

  function waitForLine(ms) {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        window.removeEventListener("online", done);
        resolve();
      };
      const timer = setTimeout(done, ms || delay);
      window.addEventListener("online", done);
      delay = Math.min(delay * 2, 15000);
    });
  }

  async function pump() {
    if (busy) return;
    busy = true;
    while (queue.length) {
      const item = queue[0];
      mark(item.bubble, "sending");
      let answer = null;
      try {
        if (!navigator.onLine) throw new Error("offline");
        answer = await item.run(item.id, (pct) => mark(item.bubble, "sending", pct + "%"));
        if (answer.status === 429) {  // "please wait": shown, then sent again when allowed
          try { await item.done(answer); } catch (e) { console.error(e); }
          mark(item.bubble, "failed");
          const after = Number(answer.headers.get("Retry-After")) || 0;
          await waitForLine(after * 1000);
          continue;
        }
        if (answer.status >= 500) throw new Error("server " + answer.status);
      } catch (e) {
        mark(item.bubble, "failed");
        await waitForLine();
        continue;
      }
      queue.shift();
      delay = 1000;
      mark(item.bubble, "");
      try { await item.done(answer); } catch (e) { console.error(e); }
    }
    busy = false;
  }

  // Posts one file with an upload progress count (fetch() has none), resolving to what
  // chat.js reads of a fetch() Response.
  function upload(path, field, blob, id, progress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", path + "?id=" + encodeURIComponent(id));
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) progress(Math.round((e.loaded * 100) / e.total));
      };
      xhr.onload = () => resolve({
        status: xhr.status,
        ok: xhr.status < 300,
        headers: { get: (name) => xhr.getResponseHeader(name) },
        json: async () => JSON.parse(xhr.responseText),
      });
      xhr.onerror = () => reject(new Error("network"));
      const data = new FormData();
      data.append(field, blob, field === "photo" ? "photo.jpg" : field);
      xhr.send(data);
    });
  }

  // run(id, progress) sends once and resolves to {status, json()}; done(answer) shows it.
  window.ndsOutbox = {
    send(bubble, run, done) {
      queue.push({ id: newId(), bubble, run, done });
      pump();
    },
    mark,
    upload,
  };
})();

// Photos are made smaller in the phone before they go (a 12 MP photo is 4 MB; this is ~300 KB)
// and sent with a progress count, since an upload on 3G takes a while.
(function () {
  const MAX_SIDE = 1600;

  async function shrink(file) {
    const image = await createImageBitmap(file);
    const scale = Math.min(1, MAX_SIDE / Math.max(image.width, image.height));
    if (scale === 1 && file.type === "image/jpeg" && file.size < 1500000) return file;
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(image.width * scale);
    canvas.height = Math.round(image.height * scale);
    canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve, reject) => canvas.toBlob(
      (blob) => (blob ? resolve(blob) : reject(new Error("could not encode"))), "image/jpeg", 0.85));
  }

  window.ndsOutbox.photo = async function (bubble, file, done) {
    let blob = file;
    try { blob = await shrink(file); } catch (e) { console.error(e); }  // the server checks it
    window.ndsOutbox.send(
      bubble, (id, progress) => window.ndsOutbox.upload("/chat/api/photo", "photo", blob, id, progress), done);
  };
})();

// Voice notes for who cannot type: tap 🎤 to record, tap again to send (WebM/AAC, as the
// browser records). The team hears it; the bot itself cannot listen.
(function () {
  const button = document.getElementById("voice");
  if (!button || !window.MediaRecorder || !navigator.mediaDevices) return;
  const idle = button.textContent;
  let recorder = null;
  let started = 0;
  let ticker = null;


  button.hidden = false;
  button.addEventListener("click", async () => {
    if (recorder) { recorder.stop(); return; }
    let stream;
    try { stream = await navigator.mediaDevices.getUserMedia({ audio: true }); }
    catch (e) { console.error(e); return; }
    const chunks = [];
    recorder = new MediaRecorder(stream);
    recorder.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
    recorder.onstop = () => {
      stream.getTracks().forEach((t) => t.stop());
      clearInterval(ticker);
      const seconds = Math.round((Date.now() - started) / 1000);
      recorder = null;
      button.textContent = idle;
      button.classList.remove("on");
      const blob = new Blob(chunks, { type: chunks.length ? chunks[0].type : "audio/webm" });
      const mine = window.ndsShowMine("🎤 " + seconds + " s");
      window.ndsOutbox.send(
        mine,
        (id, progress) => window.ndsOutbox.upload("/chat/api/voice", "voice", blob, id, progress),
        window.ndsHandle);
    };
    started = Date.now();
    recorder.start();
    button.classList.add("on");
    ticker = setInterval(() => {
      button.textContent = "⏹ " + Math.round((Date.now() - started) / 1000) + " s";
    }, 500);
    button.textContent = "⏹ 0 s";
  });
})();
