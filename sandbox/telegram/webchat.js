// The Telegram sandbox's web chat: one simulated user's private chat with the bot.
// Plain script, no build step. Every URL is relative to this page, so the sandbox can be mounted
// under any prefix. Data from the bot is always put in the page as text, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { userId: null, version: -1, poll: null, keyboardHidden: false, presets: [], commands: [] };

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const answer = await fetch(path, options);
  const data = await answer.json().catch(() => ({}));
  if (!answer.ok) throw new Error(data.error || `${answer.status} ${answer.statusText}`);
  return data;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function toast(text, alertStyle) {
  if (alertStyle) { window.alert(text); return; }
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 3500);
}

// -- formatted text: entity offsets count UTF-16 units, like JavaScript strings ------------------

const ENTITY_TAGS = {
  bold: "b", italic: "i", underline: "u", strikethrough: "s", code: "code", pre: "pre",
  spoiler: "span", blockquote: "blockquote", expandable_blockquote: "blockquote", text_link: "a",
  bot_command: "span", url: "a",
};

function wrap(entity, child, text) {
  const tag = ENTITY_TAGS[entity.type];
  if (!tag) return child;
  const node = element(tag, entity.type === "spoiler" ? "spoiler" : entity.type === "bot_command" ? "command" : "");
  if (tag === "a") {
    const href = entity.url || text;
    if (/^https?:\/\//i.test(href)) { node.href = href; node.target = "_blank"; node.rel = "noopener noreferrer"; }
  }
  if (entity.type === "spoiler") node.addEventListener("click", () => node.classList.add("revealed"));
  if (entity.type === "bot_command") node.addEventListener("click", () => sendText(text));
  node.appendChild(child);
  return node;
}

function formatted(text, entities) {
  const fragment = document.createDocumentFragment();
  if (!text) return fragment;
  const cuts = new Set([0, text.length]);
  for (const e of entities || []) { cuts.add(e.offset); cuts.add(Math.min(e.offset + e.length, text.length)); }
  const points = [...cuts].sort((a, b) => a - b);
  for (let i = 0; i + 1 < points.length; i++) {
    const [start, end] = [points[i], points[i + 1]];
    const piece = text.slice(start, end);
    let node = document.createTextNode(piece);
    for (const e of (entities || []).slice().reverse()) {
      if (e.offset <= start && e.offset + e.length >= end) {
        node = wrap(e, node, text.slice(e.offset, e.offset + e.length));
      }
    }
    fragment.appendChild(node);
  }
  return fragment;
}

// -- rendering -------------------------------------------------------------------------------

function timeOf(date) {
  return new Date(date * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function inlineKeyboard(message) {
  const rows = (message.reply_markup && message.reply_markup.inline_keyboard) || [];
  const box = element("div", "inline-keyboard");
  for (const row of rows) {
    const line = element("div", "keyboard-row");
    for (const button of row) {
      let node;
      if (button.url) {
        node = element("a", "key link", button.text + " ↗");
        if (/^https?:\/\//i.test(button.url)) { node.href = button.url; node.target = "_blank"; node.rel = "noopener"; }
      } else if (button.web_app) {
        node = element("button", "key web-app", button.text);
        node.type = "button";
        node.addEventListener("click", () => openWebApp(button.web_app.url, button.text));
      } else {
        node = element("button", "key", button.text);
        node.type = "button";
        if (button.callback_data !== undefined) {
          node.addEventListener("click", () => press(message.message_id, button.callback_data, node));
        } else {
          node.disabled = true;
          node.title = "This kind of button is not simulated";
        }
      }
      line.appendChild(node);
    }
    box.appendChild(line);
  }
  return box;
}

function bubble(message) {
  const node = element("article", `message from-${message.from}`);
  node.dataset.messageId = message.message_id;
  if (message.reply_to_message_id) node.appendChild(element("div", "reply-to muted", `↩ reply to #${message.reply_to_message_id}`));
  if (message.photo_url) {
    const picture = element("img", "photo");
    picture.src = message.photo_url;
    picture.alt = message.caption || "photo";
    picture.addEventListener("click", () => window.open(message.photo_url, "_blank", "noopener"));
    node.appendChild(picture);
  }
  if (message.document) {
    const link = element("a", "document", `Document: ${message.document.file_name || "file"}`);
    link.href = message.document.url;
    link.download = message.document.file_name || "";
    node.appendChild(link);
  }
  if (message.location) node.appendChild(element("div", "location", `Location: ${message.location.latitude}, ${message.location.longitude}`));
  if (message.contact) node.appendChild(element("div", "contact", `Contact: ${message.contact.first_name} ${message.contact.phone_number}`));
  const body = element("div", "text");
  body.appendChild(message.text != null ? formatted(message.text, message.entities) : formatted(message.caption, message.caption_entities));
  if (body.childNodes.length) node.appendChild(body);
  const meta = element("div", "meta muted", `#${message.message_id} · ${timeOf(message.date)}`);
  if (message.edit_count) meta.textContent += message.edit_count > 1 ? ` · edited ×${message.edit_count}` : " · edited";
  node.appendChild(meta);
  if (message.reply_markup) node.appendChild(inlineKeyboard(message));
  return node;
}

function renderChat(chat) {
  const box = $("chat");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  box.replaceChildren(...chat.messages.map(bubble));
  if (!chat.messages.length) box.appendChild(element("p", "empty muted", "No messages yet. Say /start to the bot."));
  if (atBottom || renderChat.first) box.scrollTop = box.scrollHeight;
  renderChat.first = false;
  const action = chat.last_action;
  const typing = action && Date.now() / 1000 - action.date < 5;
  $("bot-status").textContent = chat.blocked ? "blocked by you" : typing ? `${action.action.replace("_", " ")}…` : "sandbox";
  renderReplyKeyboard(chat.reply_keyboard);
}

function renderReplyKeyboard(markup) {
  const box = $("reply-keyboard");
  const rows = (markup && markup.keyboard) || [];
  $("keyboard-toggle").hidden = !rows.length;
  $("message-text").placeholder = (markup && markup.input_field_placeholder) || "Message";
  box.replaceChildren();
  for (const row of rows) {
    const line = element("div", "keyboard-row");
    for (const raw of row) {
      const button = typeof raw === "string" ? { text: raw } : raw;
      const node = element("button", "key", button.text);
      node.type = "button";
      node.addEventListener("click", () => {
        if (button.request_location) openPanel("location-panel");
        else if (button.request_contact) openPanel("contact-panel");
        else sendText(button.text);
      });
      line.appendChild(node);
    }
    box.appendChild(line);
  }
  box.hidden = !rows.length || state.keyboardHidden;
}

// -- what the user does ------------------------------------------------------------------------

const userPath = (suffix) => `users/${state.userId}/${suffix}`;

async function act(suffix, body) {
  try { await api(userPath(suffix), body); } catch (error) { toast(`Not sent: ${error.message}`); }
}

async function sendText(text) {
  if (!text.trim()) return;
  await act("messages", { text });
}

async function press(messageId, data, node) {
  node.classList.add("pressed");
  try {
    const pressed = await api(userPath("press"), { message_id: messageId, callback_data: data });
    const found = await api(`${userPath("callback-answers")}?query_id=${encodeURIComponent(pressed.callback_query_id)}&wait=15`);
    const answer = found.answers[0];
    if (!answer) toast("The bot did not answer this button (no answerCallbackQuery).");
    else if (answer.text) toast(answer.text, answer.show_alert);
    if (answer && answer.url) toast(`Bot asked to open ${answer.url}`);
  } catch (error) {
    toast(error.message);
  } finally {
    node.classList.remove("pressed");
  }
}

// A web_app button opens its page in a panel over the chat, as Telegram's clients do: the sandbox adds the
// launch parameters (initData signed for the bot) and the page's Telegram.WebApp.close() closes the panel.
async function openWebApp(url, title) {
  const theme = window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  try {
    const launched = await api(userPath("web-app"), { url, theme });
    $("web-app-title").textContent = title;
    $("web-app-frame").src = launched.url;
    $("web-app-panel").hidden = false;
  } catch (error) {
    toast(`Mini App not opened: ${error.message}`);
  }
}

function closeWebApp() {
  $("web-app-panel").hidden = true;
  $("web-app-frame").src = "about:blank";
}

window.addEventListener("message", (event) => {
  if (event.source !== $("web-app-frame").contentWindow) return;
  let message;
  try { message = typeof event.data === "string" ? JSON.parse(event.data) : event.data; } catch { return; }
  if (message && message.eventType === "web_app_close") closeWebApp();
});

function openPanel(id) {
  for (const panel of document.querySelectorAll(".panel")) panel.hidden = panel.id !== id;
}

function closePanels() {
  for (const panel of document.querySelectorAll(".panel")) panel.hidden = true;
}

async function shareLocation(latitude, longitude) {
  closePanels();
  await act("location", { latitude, longitude });
}

// -- keeping up with the chat ------------------------------------------------------------------

async function follow(userId) {
  const controller = new AbortController();
  state.poll = controller;
  state.version = -1;
  renderChat.first = true;
  while (!controller.signal.aborted) {
    try {
      const answer = await fetch(`users/${userId}/chat?version=${state.version}&wait=25`, { signal: controller.signal });
      if (!answer.ok) throw new Error(answer.statusText);
      const chat = await answer.json();
      if (controller.signal.aborted) return;
      state.version = chat.version;
      renderChat(chat);
    } catch (error) {
      if (controller.signal.aborted) return;
      $("bot-status").textContent = "sandbox unreachable, retrying…";
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}

async function switchUser(userId, firstName) {
  if (state.poll) state.poll.abort();
  state.userId = userId;
  state.keyboardHidden = false;
  location.hash = `user=${userId}`;
  await api(`users/${userId}`, firstName ? { first_name: firstName } : {});
  await loadOverview();
  follow(userId);
}

async function loadOverview() {
  const overview = await api("overview");
  $("bot-name").textContent = `${overview.bot.first_name} (@${overview.bot.username})`;
  state.presets = overview.location_presets;
  state.commands = overview.commands;
  const select = $("user-select");
  select.replaceChildren(...overview.users.map((user) => {
    const option = element("option", "", `${user.first_name} · ${user.id}`);
    option.value = user.id;
    option.selected = user.id === state.userId;
    return option;
  }));
  $("location-presets").replaceChildren(...state.presets.map((preset) => {
    const button = element("button", "secondary", preset.name);
    button.type = "button";
    button.addEventListener("click", () => shareLocation(preset.latitude, preset.longitude));
    return button;
  }));
  $("commands").replaceChildren(...(state.commands.length ? state.commands : [{ command: "start", description: "" }]).map((c) => {
    const button = element("button", "command-item");
    button.type = "button";
    button.append(element("strong", "", `/${c.command}`), element("span", "muted", c.description));
    button.addEventListener("click", () => { $("commands").hidden = true; sendText(`/${c.command}`); });
    return button;
  }));
}

function wire() {
  $("message-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("message-text");
    const text = input.value;
    input.value = "";
    sendText(text);
  });
  $("user-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const typed = parseInt($("user-id").value, 10);
    const chosen = Number.isInteger(typed) && typed > 0 ? typed : parseInt($("user-select").value, 10);
    if (Number.isInteger(chosen)) switchUser(chosen, $("user-name").value.trim());
    $("user-id").value = "";
    $("user-name").value = "";
  });
  $("user-select").addEventListener("change", (event) => switchUser(parseInt(event.target.value, 10)));
  $("location-button").addEventListener("click", () => openPanel("location-panel"));
  $("contact-button").addEventListener("click", () => openPanel("contact-panel"));
  $("menu-button").addEventListener("click", () => { $("commands").hidden = !$("commands").hidden; });
  $("keyboard-toggle").addEventListener("click", () => {
    state.keyboardHidden = !state.keyboardHidden;
    $("reply-keyboard").hidden = state.keyboardHidden;
  });
  $("web-app-close").addEventListener("click", closeWebApp);
  for (const cancel of document.querySelectorAll("[data-close]")) cancel.addEventListener("click", closePanels);
  $("location-form").addEventListener("submit", (event) => {
    event.preventDefault();
    shareLocation(parseFloat($("latitude").value), parseFloat($("longitude").value));
  });
  $("contact-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    closePanels();
    await act("contact", { phone_number: $("phone").value, first_name: $("contact-name").value || undefined });
  });
}

wire();
const fromHash = parseInt((location.hash.match(/user=(\d+)/) || [])[1], 10);
switchUser(Number.isInteger(fromHash) ? fromHash : 1001, Number.isInteger(fromHash) ? "" : "Alice");
