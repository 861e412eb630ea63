// The seat-map Mini App: the whole hall, tap to hold or release, live through server-sent events (seat
// states pushed as they change) and a slow poll with the state's version (If-None-Match) for the rest:
// your hold's clock, the waitlist, your place in the queue. Without a stream it polls twice a second.
// Every change goes through the JSON API, which holds seats exactly as the bot does.
"use strict";

const tg = window.Telegram.WebApp;
const showId = document.body.dataset.showId;
const api = `/app/api/shows/${showId}`;
const POLL_MS = 500;
const SLOW_POLL_MS = 5000;
const RECONNECT_MS = 1000;
const GAP_PX = 2;
const GLYPH = { yours: "✓", held: "–", sold: "✕", offered: "⏳" };
const WORD = { free: "free", yours: "yours", held: "taken", sold: "sold", offered: "kept for the waitlist" };

// `hall` is the show and its rows (sent by GET); `state` the live part every answer carries.
const view = { hall: null, state: null, version: null, seats: new Map(), wanted: null, busy: false, expiresAt: 0, streaming: false };
const $ = (id) => document.getElementById(id);

async function call(path, body) {
  const options = { headers: { Authorization: `tma ${tg.initData}` } };
  if (body !== undefined) {
    options.method = "POST";
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  } else if (view.version) {
    options.headers["If-None-Match"] = `"${view.version}"`;
  }
  const answer = await fetch(path, options);
  if (answer.status === 304) return null;
  const data = await answer.json().catch(() => ({}));
  if (!answer.ok) {
    const error = new Error((data.error && data.error.message) || `${answer.status} ${answer.statusText}`);
    error.code = data.error && data.error.code;
    throw error;
  }
  return data;
}

function say(text, kind) {
  const notice = $("notice");
  notice.textContent = text || "";
  notice.className = `notice ${kind || ""}`;
  notice.hidden = !text;
}

function buildHall(state) {
  const hall = $("hall");
  // The whole hall fits the screen's width (seats of at least 12 px; pinch to zoom, or scroll beyond).
  const columns = state.width + 1;
  const fit = Math.floor((Math.min(window.innerWidth, 720) - 16 - GAP_PX * (columns - 1)) / columns);
  document.documentElement.style.setProperty("--seat", `${Math.max(12, Math.min(28, fit))}px`);
  hall.style.gridTemplateColumns = `repeat(${state.width + 1}, var(--seat))`;
  hall.replaceChildren();
  state.rows.forEach((row, index) => {
    const label = document.createElement("div");
    label.className = "row-label";
    label.textContent = row.label;
    label.style.gridRow = index + 1;
    label.style.gridColumn = 1;
    hall.appendChild(label);
    for (const seat of row.seats) {
      const node = document.createElement("button");
      node.type = "button";
      node.dataset.seat = seat.seat;
      node.dataset.number = seat.number;
      node.dataset.category = seat.category;
      node.style.gridRow = index + 1;
      node.style.gridColumn = seat.column + 1;
      node.addEventListener("click", () => tap(seat.seat));
      hall.appendChild(node);
      view.seats.set(seat.seat, node);
    }
  });
}

function priceOf(category) {
  const price = view.hall.prices.find((p) => p.category === category);
  return price ? price.price : "no price";
}

function paintSeat(name, node) {
  const state = view.state.states[name] || "free";
  const wheelchair = node.dataset.category === "wheelchair";
  node.className = `seat ${state}${wheelchair ? " wheelchair" : ""}${view.wanted && view.wanted.has(name) !== (state === "yours") ? " pending" : ""}`;
  node.textContent = state === "free" ? (wheelchair ? "♿" : node.dataset.number) : GLYPH[state];
  node.setAttribute("aria-label", `${name}, ${WORD[state]}, ${node.dataset.category} ${priceOf(node.dataset.category)}`);
  node.disabled = view.state.closed || Boolean(view.state.unavailable) || waitingForTurn(view.state);
}

// A queued premiere's seats can be chosen only in your turn (the core refuses holds before it anyway).
function waitingForTurn(state) {
  return Boolean(state.queue) && !state.queue.your_turn && !state.queue.over;
}

function clock(seconds) {
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

function queueText(queue) {
  const opens = new Date(queue.on_sale_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (queue.your_turn) return `🎟 It's your turn! Choose seats within ${clock(queue.turn_seconds_left)}.`;
  if (!queue.queued) {
    return `🕕 This premiere sells through a queue from ${opens}. Everyone who joins before then gets a random place when the sale opens: joining early gives no advantage.`;
  }
  if (queue.position === null) {
    return `✅ You are in the queue. Places are drawn at random when the sale opens at ${opens}; we message you in the chat when your turn comes.`;
  }
  const wait = queue.wait_minutes === null ? "" : queue.wait_minutes === 0 ? " Your turn: any moment now." : ` Your turn: in about ${queue.wait_minutes} min.`;
  return `✅ You are number ${queue.position} in the queue.${wait} We message you in the chat when your turn comes.`;
}

function renderQueue(queue) {
  $("queue").hidden = !queue || queue.over;
  if ($("queue").hidden) return;
  $("queue-form").hidden = queue.queued || queue.your_turn;
  $("queue-text").textContent = queueText(queue);
}

function renderHall(hall) {
  view.hall = hall;
  buildHall(hall);
  $("movie").textContent = hall.show.movie;
  const starts = new Date(hall.show.starts_at.slice(0, 16));
  const when = starts.toLocaleString([], { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  $("where").textContent = `${hall.show.cinema} · ${hall.show.hall} · ${when}`;
  $("prices").textContent = hall.prices.map((p) => `${p.category} ${p.price}`).join(" · ");
}

function render(state) {
  if (state.rows && (!view.hall || JSON.stringify(state.rows) !== JSON.stringify(view.hall.rows))) renderHall(state);
  if (!view.hall) return;
  view.state = state;
  view.version = state.version;
  for (const [name, node] of view.seats) paintSeat(name, node);
  renderActions(state);
}

function renderActions(state) {
  const hold = state.hold;
  const free = view.seats.size - Object.keys(state.states).length;
  view.expiresAt = hold ? Date.now() + hold.seconds_left * 1000 : 0;
  $("pay").hidden = !hold;
  $("release").hidden = !hold;
  $("release").textContent = hold && hold.offer ? "✖ Decline offer" : "↩ Release";
  if (hold) $("pay").textContent = `💳 Pay${hold.total ? ` ${hold.total}` : ""}`;
  const best = $("best");
  if (best.childElementCount !== Math.min(8, state.max_seats)) {
    best.replaceChildren(...Array.from({ length: Math.min(8, state.max_seats) }, (_, i) => {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = `✨ Best ${i + 1}`;
      button.addEventListener("click", () => act("best", { count: i + 1 }));
      return button;
    }));
  }
  best.hidden = state.closed || Boolean(state.unavailable) || waitingForTurn(state);
  renderQueue(state.queue);
  const waiting = state.waitlist.position;
  $("waitlist").hidden = Boolean(hold) || state.closed || waitingForTurn(state) || !(free < state.max_seats || state.waitlist.waiting);
  $("waitlist-form").hidden = Boolean(waiting);
  $("waitlist-text").textContent = waiting
    ? `You are number ${waiting} on the waitlist. We will message you in the chat when seats are held for you.`
    : `Only ${free} seat(s) are free. Join the waitlist to be offered seats as they come free.`;
  if (state.closed) say("🚫 Booking for this show has closed.");
  else if (state.unavailable) say("⚠️ This cinema's booking system is temporarily unavailable. Please try again in a minute.");
  tick();
}

function tick() {
  const hold = view.state && view.state.hold;
  if (!hold) {
    $("selection").textContent = "Tap free seats to hold them, or ✨ for the best seats side by side.";
    return;
  }
  const left = Math.max(0, Math.round((view.expiresAt - Date.now()) / 1000));
  const what = hold.offer ? "Offered to you" : "Your seats";
  $("selection").textContent = `${what}: ${hold.seats.join(", ")}${hold.total ? ` · ${hold.total}` : ""} · ⏱ ${clock(left)} left`;
}

// A tap changes the selection at once on screen; requests go one at a time, each with the latest wish.
function tap(name) {
  const state = view.state.states[name] || "free";
  if (state !== "free" && state !== "yours") {
    say(state === "offered" ? `${name} is kept for people on the waitlist.` : `${name} is ${WORD[state]}.`);
    return;
  }
  const base = view.wanted || new Set(view.state.hold ? view.state.hold.seats : []);
  const wanted = new Set(base);
  if (wanted.has(name)) wanted.delete(name); else wanted.add(name);
  view.wanted = wanted;
  paintSeat(name, view.seats.get(name));
  if (tg.HapticFeedback) tg.HapticFeedback.selectionChanged();
  sendWanted();
}

async function sendWanted() {
  if (view.busy || !view.wanted) return;
  const wanted = view.wanted;
  view.busy = true;
  try {
    const answer = await call(`${api}/hold`, { seats: [...wanted] });
    if (view.wanted === wanted) view.wanted = null;
    say("");
    applyHold(answer.hold);
  } catch (error) {
    view.wanted = null;
    say(error.message);
    await refresh();
  } finally {
    view.busy = false;
  }
  if (view.wanted) sendWanted();
}

// A tap is answered with your hold alone: your seats are painted from it, a seat you let go is free, and
// the next poll (whose version no longer matches) brings everyone else's changes.
function applyHold(hold) {
  const states = { ...view.state.states };
  for (const name of view.state.hold ? view.state.hold.seats : []) delete states[name];
  for (const name of hold ? hold.seats : []) states[name] = "yours";
  render({ ...view.state, states, hold, version: view.version });
}

async function act(action, body) {
  view.wanted = null;
  try {
    const answer = await call(`${api}/${action}`, body || {});
    say(answer.message || "", "info");
    if (action === "checkout") {
      tg.close();
      return;
    }
    render(answer);
  } catch (error) {
    say(error.message);
    await refresh();
  }
}

async function refresh() {
  try {
    // Once the page has the hall, only the live part is asked for.
    const state = await call(view.hall ? `${api}?part=live` : api);
    if (state) render(state);
  } catch (error) {
    say(error.message);
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// A poll's wait drawn from +-20% of its period, so that pages opened together do not poll together.
const jittered = (ms) => ms * (0.8 + 0.4 * Math.random());

async function poll() {
  for (;;) {
    if (!view.busy && !view.wanted && !document.hidden) await refresh();
    await sleep(jittered(view.streaming ? SLOW_POLL_MS : POLL_MS));
  }
}

// A push: everyone's seats as they are now. When the seats it shows as yours are not your hold's (your
// hold changed elsewhere, or the push was read before your last tap), the page asks for your state.
function pushed(event) {
  if (!view.state || view.busy || view.wanted) return;
  const held = view.state.hold ? [...view.state.hold.seats].sort().join() : "";
  if ([...event.yours].sort().join() !== held) {
    refresh();
    return;
  }
  const states = { ...event.states };
  for (const name of event.yours) states[name] = "yours";
  const waitlist = { ...view.state.waitlist, waiting: event.waiting };
  const expiresAt = view.expiresAt; // the hold is the one the page has: its clock runs on
  render({ ...view.state, states, closed: event.closed, unavailable: event.unavailable, waitlist, version: view.version });
  view.expiresAt = expiresAt;
  tick();
}

async function stream() {
  for (;;) {
    try {
      const answer = await fetch(`${api}/events`, { headers: { Authorization: `tma ${tg.initData}` } });
      if (!answer.ok || !answer.body) throw new Error(`${answer.status}`);
      view.streaming = true;
      const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (block.startsWith("data: ")) pushed(JSON.parse(block.slice(6)));
        }
      }
    } catch (error) {
      // No stream: the poll goes back to twice a second until it reconnects.
    }
    view.streaming = false;
    await sleep(RECONNECT_MS);
  }
}

$("pay").addEventListener("click", () => act("checkout"));
$("release").addEventListener("click", () => act("release"));
$("waitlist-form").addEventListener("submit", (event) => {
  event.preventDefault();
  act("waitlist", { count: parseInt($("waitlist-count").value, 10) || 1, together: true });
});
$("queue-form").addEventListener("submit", (event) => {
  event.preventDefault();
  act("queue", { count: parseInt($("queue-count").value, 10) || 1 });
});
setInterval(tick, 1000);
tg.ready();
tg.expand();
poll();
stream();
