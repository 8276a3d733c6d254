"use strict";
// The web chat: sends what the user types or taps, draws the bot's replies, polls for news.
const log = document.getElementById("log");
const form = document.getElementById("composer");
const input = document.getElementById("text");
const photo = document.getElementById("photo");
const placeholder = input.placeholder;

function bubble(cls) {
  const div = document.createElement("div");
  div.className = "msg " + cls;
  log.appendChild(div);
  return div;
}

function showMine(text) {
  const mine = bubble("me");
  mine.textContent = text;
  log.scrollTop = log.scrollHeight;
  return mine;
}

// Bot text is Telegram-style HTML (<b>, <i>, <code>, <a href>...). It is parsed into an inert
// document and rebuilt node by node: only these tags and web/phone links survive, everything
// else keeps just its text. No string is ever assigned as markup.
const RICH_TAGS = new Set(["B", "STRONG", "I", "EM", "U", "S", "CODE", "PRE", "BR"]);
const SAFE_HREF = /^(https?:|tel:|mailto:|\/(?!\/))/i;

function copySafe(from, to) {
  for (const node of from.childNodes) {
    if (node.nodeType === Node.TEXT_NODE) {
      to.appendChild(document.createTextNode(node.data));
      continue;
    }
    if (node.nodeType !== Node.ELEMENT_NODE) continue;
    const tag = node.tagName;
    let el = null;
    if (RICH_TAGS.has(tag)) {
      el = document.createElement(tag.toLowerCase());
    } else if (tag === "A" && SAFE_HREF.test(node.getAttribute("href") || "")) {
      el = document.createElement("a");
      el.href = node.getAttribute("href");
      el.target = "_blank";
      el.rel = "noopener noreferrer";
    }
    if (el) {
      copySafe(node, el);
      to.appendChild(el);
    } else if (tag !== "SCRIPT" && tag !== "STYLE") {
      copySafe(node, to);
    }
  }
}

function richText(html) {
  const parsed = new DOMParser().parseFromString(String(html || ""), "text/html");
  const out = document.createDocumentFragment();
  copySafe(parsed.body, out);
  return out;
}

function showReply(reply) {
  const div = bubble("bot");
  for (const url of reply.photos || []) {
    const img = document.createElement("img");
    img.src = url;
    img.alt = "";
    div.appendChild(img);
  }
  const body = document.createElement("div");
  body.appendChild(richText(reply.html));
  div.appendChild(body);
  if (reply.audio) {
    const audio = document.createElement("audio");
    audio.controls = true;
    audio.preload = "none";
    audio.src = reply.audio;
    div.appendChild(audio);
  }
  if (reply.document) {
    const a = document.createElement("a");
    a.download = reply.document.name;
    a.textContent = "⬇ " + reply.document.name;
    a.href = "data:application/octet-stream;base64," + reply.document.base64;
    div.appendChild(a);
  }
  if (reply.buttons && reply.buttons.length) {
    const box = document.createElement("div");
    box.className = "buttons";
    for (const row of reply.buttons) {
      const r = document.createElement("div");
      r.className = "row";
      for (const b of row) {
        let el;
        if (b.url) {
          el = document.createElement("a");
          el.href = b.url;
          el.target = "_blank";
          el.rel = "noopener";
        } else {
          el = document.createElement("button");
          el.type = "button";
          el.dataset.payload = b.payload;
          el.addEventListener("click", () => post({ payload: b.payload }, showMine(b.label)));
        }
        el.textContent = b.label;
        r.appendChild(el);
      }
      box.appendChild(r);
    }
    div.appendChild(box);
  }
  if (reply.request_contact) {
    input.placeholder = "0912 345 678";
    input.inputMode = "tel";
  } else {
    input.placeholder = placeholder;
    input.inputMode = "text";
  }
  log.scrollTop = log.scrollHeight;
}

async function handle(response) {
  // A refusal (429 "please wait", 413 too large) carries replies to show as well.
  if (!(response.headers.get("Content-Type") || "").includes("application/json")) return;
  const data = await response.json();
  for (const reply of data.replies || []) showReply(reply);
}

// Through the page's outbox (outbox.js): kept and sent again until the server has it.
function post(body, mine) {
  ndsOutbox.send(mine, (id) => fetch("/chat/api/send", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(Object.assign({ id }, body)),
  }), handle);
}

form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  post({ text }, showMine(text));
});

photo.addEventListener("change", () => {
  if (!photo.files.length) return;
  const file = photo.files[0];
  photo.value = "";
  ndsOutbox.photo(showMine("📷 " + file.name), file, handle);
});

window.ndsShowMine = showMine;  // for the voice recorder (outbox.js)
window.ndsHandle = handle;

async function pollForever() {
  for (;;) {
    try { await handle(await fetch("/chat/api/poll")); }
    catch (e) { await new Promise((r) => setTimeout(r, 3000)); }
  }
}

// A shared listing's link (/?start=p_7K3QX) opens the chat on that listing.
const start = new URLSearchParams(location.search).get("start") || "";
post({ text: /^[A-Za-z0-9_]{1,64}$/.test(start) ? "/start " + start : "/start" });
pollForever();
