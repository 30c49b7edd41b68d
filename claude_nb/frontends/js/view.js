// @ts-check
/**
 * claude_nb live view (anywidget front end, plain ESM, no build step).
 *
 * Python (claude_nb/frontends/view.py) pushes numbered view ops, declared in
 * claude_nb/frontends/viewops.py (typedefs below) and described in docs/architecture.md.
 * All HTML arrives produced and sanitised by Python; this file only inserts it, never
 * builds HTML from model data.
 *
 * Shape: one Hub per widget model (created in `initialize`, so it listens from the moment
 * the model exists) applies ops in `seq` order to a detached mirror and fans them out to
 * every View of the model. A View opening late copies the mirror; every render also says
 * `hello`, and Python answers with a snapshot, the source of truth whenever an op was missed.
 */

// Messages, under the names of claude_nb/frontends/viewops.py (the Python declaration; one
// typedef a line, `name: type` fields: tests/test_chat.py checks both list the same fields).
/** @typedef {"button" | "interrupt" | "none"} StopMode */
/** @typedef {{ op: "block", id: string, kind: string, html: string }} BlockOp */
/** @typedef {{ op: "md", id: string, commit: string, tail: string, replace: string | null }} MdOp */
/** @typedef {{ op: "json", id: string, text: string }} JsonOp */
/** @typedef {{ op: "final", id: string, html: string }} FinalOp */
/** @typedef {{ op: "remove", id: string }} RemoveOp */
/** @typedef {{ op: "clear" }} ClearOp */
/** @typedef {{ op: "state", running: boolean, stop?: StopMode, demo?: boolean, now?: number }} StateOp */
/** @typedef {BlockOp | MdOp | JsonOp | FinalOp | RemoveOp | ClearOp | StateOp} ViewOp */
/** @typedef {ViewOp & { seq: number }} SeqOp */
/** @typedef {{ op: "download", filename: string, mime: string, content: string }} DownloadOp */
/** @typedef {{ running: boolean, stop: StopMode, demo: boolean }} ViewState */
/** @typedef {{ committed: string, tail: string }} MdState */
/** @typedef {{ id: string, kind: string, html: string, md: MdState | null, json: string | null }} SnapshotBlock */
/** @typedef {{ op: "snapshot", seq: number, blocks: SnapshotBlock[], state: ViewState, now: number }} SnapshotOp */
/** @typedef {{ type: "hello" }} HelloAction */
/** @typedef {{ type: "stop" }} StopAction */
/** @typedef {{ type: "approve" | "deny", id: string }} ApproveAction */
/** @typedef {{ type: "insert_cell", code: string }} InsertCellAction */
/** @typedef {{ type: "send", text: string }} SendAction */
/** @typedef {{ type: "regenerate" }} RegenerateAction */
/** @typedef {{ type: "new" }} NewAction */
/** @typedef {{ type: "export", format: "md" | "json" | "html" }} ExportAction */
/** @typedef {{ type: "set_key", key: string }} SetKeyAction */
/**
 * @typedef {HelloAction | StopAction | ApproveAction | InsertCellAction | SendAction
 *   | RegenerateAction | NewAction | ExportAction | SetKeyAction} Action
 */
/**
 * @typedef {{
 *   get(name: string): any,
 *   send(content: Action): void,
 *   on(name: string, callback: (...args: any[]) => void): void,
 *   off(name: string, callback?: (...args: any[]) => void): void,
 * }} Model
 */
/** @typedef {{ el: HTMLElement, md: { c: HTMLElement, t: HTMLElement } | null, json: HTMLElement | null }} BlockRec */
/**
 * Per-view hooks run after HTML was inserted (the mirror has none).
 * @typedef {{ added(el: HTMLElement): void, inserted(parent: HTMLElement, after: ChildNode | null): void }} Decorator
 */

export const BUSY_HINT =
  "The kernel is busy and can't receive the click here — use Kernel ▸ Interrupt (■)";
const STOP_HINT_MS = 1500;
const TICK_MS = 150;
const HELLO_RETRY_MS = 1500;
const MAX_PENDING = 20000;
/** @type {ViewState} */
const IDLE = { running: false, stop: "none", demo: false };

/**
 * Create an element.
 * @param {string} tag
 * @param {Record<string, string>} [attrs]
 * @param {(Node | string)[]} children
 * @returns {HTMLElement}
 */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

// ---------------------------------------------------------------------------------------
// Surface: a list of blocks inside one element; applies ops to it.

class Surface {
  /**
   * @param {HTMLElement} log
   * @param {Decorator | null} deco
   */
  constructor(log, deco) {
    this.log = log;
    this.deco = deco;
    /** @type {Map<string, BlockRec>} */
    this.blocks = new Map();
  }

  /** @param {BlockRec} rec @param {string} html */
  setHtml(rec, html) {
    rec.el.innerHTML = html;
    rec.md = null;
    rec.json = null;
    this.deco?.added(rec.el);
  }

  /** @param {SnapshotBlock[]} blocks */
  load(blocks) {
    this.log.replaceChildren();
    this.blocks.clear();
    for (const b of blocks) {
      APPLY.block(this, { op: "block", id: b.id, kind: b.kind, html: b.html });
      if (b.md) APPLY.md(this, { op: "md", id: b.id, commit: "", tail: b.md.tail, replace: b.md.committed });
      if (b.json) APPLY.json(this, { op: "json", id: b.id, text: b.json });
    }
  }

  /** Replace everything with copies of another surface's blocks. @param {Surface} other */
  copyFrom(other) {
    this.blocks.clear();
    const copies = [...other.log.children].map((c) => /** @type {HTMLElement} */ (c.cloneNode(true)));
    this.log.replaceChildren(...copies);
    for (const el of copies) {
      this.blocks.set(el.dataset.cnbBlock ?? "", { el, md: null, json: null });
      this.deco?.added(el);
    }
  }
}

/**
 * The Markdown area of a block, created when missing.
 * @param {BlockRec} rec
 */
function mdParts(rec) {
  if (rec.md) return rec.md;
  let md = /** @type {HTMLElement | null} */ (rec.el.querySelector(".cnb-md"));
  if (!md) md = rec.el.appendChild(h("div", { class: "cnb-md" }));
  const part = (/** @type {string} */ cls) =>
    /** @type {HTMLElement} */ (md.querySelector(`:scope > .${cls}`) ?? md.appendChild(h("div", { class: cls })));
  const c = part("cnb-md-c");
  const t = part("cnb-md-t");
  if (c.compareDocumentPosition(t) & Node.DOCUMENT_POSITION_PRECEDING) md.append(t);
  rec.md = { c, t };
  return rec.md;
}

/**
 * Op handlers, by op name (`state` is the Hub's).
 * @type {{ [K in Exclude<ViewOp["op"], "state">]: (s: Surface, op: Extract<ViewOp, { op: K }>) => void }}
 */
const APPLY = {
  block(s, op) {
    const rec = s.blocks.get(op.id);
    if (rec) return s.setHtml(rec, op.html);
    const el = h("div", { class: "cnb-block", "data-cnb-block": op.id, "data-kind": String(op.kind) });
    el.innerHTML = op.html;
    s.log.append(el);
    s.blocks.set(op.id, { el, md: null, json: null });
    s.deco?.added(el);
  },
  md(s, op) {
    const rec = s.blocks.get(op.id);
    if (!rec) return;
    const { c, t } = mdParts(rec);
    if (op.replace != null) {
      c.innerHTML = op.replace;
      s.deco?.inserted(c, null);
    }
    if (op.commit) {
      const last = c.lastChild;
      c.insertAdjacentHTML("beforeend", op.commit);
      s.deco?.inserted(c, last);
    }
    t.innerHTML = op.tail ?? "";
  },
  json(s, op) {
    const rec = s.blocks.get(op.id);
    if (!rec) return;
    rec.json ??= /** @type {HTMLElement | null} */ (rec.el.querySelector(".cnb-json-live, pre.cnb-json"));
    rec.json ??= rec.el.appendChild(h("pre", { class: "cnb-json-live" }));
    const last = rec.json.lastChild;
    if (last instanceof Text) last.appendData(op.text);
    else rec.json.append(op.text);
  },
  final(s, op) {
    const rec = s.blocks.get(op.id);
    if (rec) s.setHtml(rec, op.html);
  },
  remove(s, op) {
    s.blocks.get(op.id)?.el.remove();
    s.blocks.delete(op.id);
  },
  clear(s) {
    s.log.replaceChildren();
    s.blocks.clear();
  },
};

/** @param {DownloadOp} op */
function download(op) {
  const url = URL.createObjectURL(new Blob([op.content], { type: op.mime || "text/plain" }));
  const a = h("a", { href: url, download: op.filename || "download", hidden: "" });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// ---------------------------------------------------------------------------------------
// Hub: one per model. Orders ops, keeps the mirror, asks for snapshots.

/** @type {Map<string, Hub>} */
const HUBS = new Map();

class Hub {
  /** @param {Model} model */
  constructor(model) {
    this.model = model;
    this.seq = 0; // a fresh model has had no ops: synced at 0
    this.synced = true;
    /** @type {ViewState} */
    this.state = { ...IDLE };
    this.clockOffset = 0; // kernel clock - browser clock, seconds
    this.mirror = new Surface(h("div"), null);
    /** @type {Set<View>} */
    this.views = new Set();
    /** @type {SeqOp[]} */
    this.pending = [];
    this.retry = 0;
    this.retryDelay = HELLO_RETRY_MS;
    this.onMessage = this.onMessage.bind(this);
  }

  /** Ask Python for a snapshot; while out of sync, ask again with growing delays. */
  hello() {
    this.model.send({ type: "hello" });
    clearTimeout(this.retry);
    this.retry = window.setTimeout(() => {
      if (this.synced) return;
      this.retryDelay = Math.min(this.retryDelay * 2, 30_000);
      this.hello();
    }, this.retryDelay);
  }

  /** @param {any} msg */
  onMessage(msg) {
    if (!msg || typeof msg !== "object") return;
    if (msg.op === "download") return download(msg);
    if (msg.op === "snapshot") return this.onSnapshot(msg);
    if (typeof msg.seq !== "number" || !(Object.hasOwn(APPLY, msg.op) || msg.op === "state")) return;
    if (msg.seq <= this.seq) return;
    if (this.synced && msg.seq === this.seq + 1) return this.apply(msg);
    if (this.pending.length < MAX_PENDING) this.pending.push(msg);
    if (this.synced) {
      this.synced = false;
      this.hello();
    }
  }

  /** @param {SeqOp} op */
  apply(op) {
    this.seq = op.seq;
    if (op.op === "state") {
      // Like LiveView's snapshot: `stop` and `demo` keep their value when left out.
      this.state = { running: !!op.running, stop: op.stop ?? this.state.stop, demo: op.demo ?? this.state.demo };
      this.setClock(op.now);
      for (const v of this.views) v.setState(this.state);
      return;
    }
    const fn = /** @type {(s: Surface, op: SeqOp) => void} */ (APPLY[op.op]);
    fn(this.mirror, op);
    for (const v of this.views) {
      fn(v.surface, op);
      v.changed();
    }
  }

  /** @param {SnapshotOp} snap */
  onSnapshot(snap) {
    if (!(this.synced && snap.seq <= this.seq)) {
      this.seq = snap.seq;
      this.synced = true;
      this.retryDelay = HELLO_RETRY_MS;
      this.state = { ...IDLE, ...snap.state };
      this.setClock(snap.now);
      this.mirror.load(snap.blocks ?? []);
      for (const v of this.views) v.rebuild();
    }
    const rest = this.pending.filter((op) => op.seq > this.seq).sort((a, b) => a.seq - b.seq);
    this.pending = [];
    for (const op of rest) this.onMessage(op);
  }

  /** @param {number | undefined} now */
  setClock(now) {
    if (typeof now === "number") this.clockOffset = now - Date.now() / 1000;
  }

  dispose() {
    clearTimeout(this.retry);
    this.views.clear();
  }
}

/** @param {Model} model */
function hubFor(model) {
  const key = String(model.get("_cnb_key") ?? "");
  let hub = HUBS.get(key);
  if (!hub) {
    hub = new Hub(model);
    HUBS.set(key, hub);
    model.on("msg:custom", hub.onMessage);
  }
  return hub;
}

// ---------------------------------------------------------------------------------------
// View: one rendering of the model inside an output.

/** Like render/html.py's durations: "4.2 s", "1 min 05 s". @param {number} s */
function formatElapsed(s) {
  if (s < 60) return `${Math.max(0, s).toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${String(Math.floor(s % 60)).padStart(2, "0")} s`;
}

/** @param {string} text */
async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const ta = /** @type {HTMLTextAreaElement} */ (h("textarea", { class: "cnb-offscreen" }));
    ta.value = text;
    document.body.append(ta);
    ta.select();
    const ok = document.execCommand("copy");
    ta.remove();
    return ok;
  }
}

/** @param {HTMLElement} pre */
function codeOf(pre) {
  return (pre.querySelector("code") ?? pre).textContent?.replace(/\n$/, "") ?? "";
}

class View {
  /**
   * @param {Hub} hub
   * @param {Model} model
   * @param {HTMLElement} el
   */
  constructor(hub, model, el) {
    this.hub = hub;
    this.model = model;
    this.root = h("div", { class: "cnb-root", tabindex: "-1" });
    el.append(this.root);
    this.log = h("div", { class: "cnb-log" });
    this.surface = new Surface(this.log, {
      added: (blockEl) => this.decorate(blockEl),
      inserted: (parent, after) => this.decorateInserted(parent, after),
    });
    /** @type {Set<HTMLElement>} */
    this.timers = new Set();
    /** @type {WeakMap<HTMLElement, number>} */
    this.firstSeen = new WeakMap();
    /** @type {Map<string, Map<number, boolean>>} block id -> details index -> open */
    this.toggles = new Map();
    this.tick = 0;
    this.stopTimer = 0;
    this.stopRequested = false;
    this.stick = true;
    this.scrollQueued = false;
    this.buildChrome();
    this.root.addEventListener("click", (e) => this.onClick(e));
    this.root.addEventListener("keydown", (e) => this.onKeydown(e));
    this.log.addEventListener("scroll", () => this.onScroll(), { passive: true });
    this.surface.copyFrom(hub.mirror);
    this.setState(hub.state);
    this.syncTraits();
  }

  buildChrome() {
    const { root } = this;
    const chat = !!this.model.get("chat");
    root.classList.toggle("cnb-chat", chat);
    this.input = this.sendBtn = this.regenBtn = this.newBtn = this.closeMenu = undefined;
    this.titleEl = h("span", { class: "cnb-title" });
    this.demo = h("span", { class: "cnb-demo", title: "Answers come from the built-in demo server, not from Claude", hidden: "" }, "demo");
    this.stopBtn = h("button", { type: "button", class: "cnb-btn cnb-stop-btn", "aria-label": "Stop", title: "Stop (Esc)", hidden: "" }, h("span", { class: "cnb-stop-icon", "aria-hidden": "true" }), h("span", { class: "cnb-stop-label" }, "Stop"));
    this.hint = h("span", { class: "cnb-hint", role: "status", hidden: "" });
    this.stopBtn.addEventListener("click", () => this.stop());
    const head = h("div", { class: "cnb-head" }, this.titleEl, this.demo);
    if (!chat) {
      root.replaceChildren(head, this.log, h("div", { class: "cnb-bar" }, this.stopBtn, this.hint));
      return;
    }
    const input = /** @type {HTMLTextAreaElement} */ (h("textarea", { class: "cnb-input", "aria-label": "Message", rows: "2", placeholder: "Message Claude — Enter to send, Shift+Enter for a new line" }));
    this.input = input;
    input.addEventListener("keydown", (e) => this.onInputKey(e));
    input.addEventListener("input", () => this.setState(this.hub.state));
    this.sendBtn = this.button("Send", () => this.sendText(), "cnb-btn cnb-primary");
    this.regenBtn = this.button("Regenerate", () => this.model.send({ type: "regenerate" }));
    this.newBtn = this.button("New conversation", () => this.model.send({ type: "new" }));
    head.append(this.keyField());
    root.replaceChildren(head, this.log, h("div", { class: "cnb-composer" }, input, h("div", { class: "cnb-controls" }, this.sendBtn, this.stopBtn, this.hint, h("span", { class: "cnb-spacer" }), this.regenBtn, this.newBtn, this.exportMenu())));
  }

  /** A password field that hands an API key to the kernel once; it is never kept in
   * widget state, and the field is cleared at once. */
  keyField() {
    const field = /** @type {HTMLInputElement} */ (h("input", { type: "password", class: "cnb-key-input", "aria-label": "API key", autocomplete: "off", placeholder: "sk-ant-…", hidden: "" }));
    const toggle = this.button("API key…", () => {
      field.toggleAttribute("hidden");
      if (!field.hidden) field.focus();
    }, "cnb-btn cnb-key-btn");
    toggle.title = "Use your Anthropic API key for the next messages (not saved in the notebook)";
    field.addEventListener("keydown", (e) => {
      e.stopPropagation();
      if (e.key === "Enter" && field.value.trim()) {
        this.model.send({ type: "set_key", key: field.value.trim() });
        field.value = "";
        field.hidden = true;
      } else if (e.key === "Escape") {
        field.value = "";
        field.hidden = true;
      }
    });
    return h("span", { class: "cnb-key" }, toggle, field);
  }

  /**
   * @param {string} label
   * @param {() => void} onClick
   * @param {string} [cls]
   */
  button(label, onClick, cls = "cnb-btn") {
    const b = h("button", { type: "button", class: cls }, label);
    b.addEventListener("click", onClick);
    return b;
  }

  exportMenu() {
    const menu = h("div", { class: "cnb-menu", role: "menu", hidden: "" });
    const toggle = h("button", { type: "button", class: "cnb-btn", "aria-haspopup": "menu", "aria-expanded": "false" }, "Export ▾");
    const wrap = h("span", { class: "cnb-export" }, toggle, menu);
    /** @param {Event} e */
    const outside = (e) => !wrap.contains(/** @type {Node} */ (e.target)) && this.closeMenu?.();
    this.closeMenu = () => {
      menu.hidden = true;
      toggle.setAttribute("aria-expanded", "false");
      document.removeEventListener("pointerdown", outside, true);
    };
    toggle.addEventListener("click", () => {
      if (!menu.hidden) return this.closeMenu?.();
      menu.hidden = false;
      toggle.setAttribute("aria-expanded", "true");
      document.addEventListener("pointerdown", outside, true);
    });
    for (const [label, format] of /** @type {const} */ ([["Markdown", "md"], ["JSON", "json"], ["HTML", "html"]])) {
      const item = this.button(label, () => {
        this.closeMenu?.();
        this.model.send({ type: "export", format });
      }, "cnb-menu-item");
      item.setAttribute("role", "menuitem");
      menu.append(item);
    }
    return wrap;
  }

  syncTraits() {
    this.root.classList.toggle("cnb-can-insert", !!this.model.get("insert_cells"));
    if (this.titleEl) this.titleEl.textContent = String(this.model.get("title") ?? "");
  }

  // --- state ------------------------------------------------------------------------

  /** @param {ViewState} state */
  setState(state) {
    const { running, stop } = state;
    this.root.classList.toggle("cnb-running", running);
    if (this.demo) this.demo.hidden = !state.demo;
    if (this.stopBtn) {
      this.stopBtn.hidden = !running || stop === "none";
      this.stopBtn.title = stop === "interrupt" ? BUSY_HINT : "Stop (Esc)";
    }
    if (!running) this.stopDone();
    if (this.input && this.sendBtn && this.regenBtn && this.newBtn) {
      const hadFocus = document.activeElement === this.input;
      this.input.disabled = running;
      this.sendBtn.toggleAttribute("disabled", running || !this.input.value.trim());
      this.regenBtn.toggleAttribute("disabled", running);
      this.newBtn.toggleAttribute("disabled", running);
      if (hadFocus && running && this.stopBtn && !this.stopBtn.hidden) this.stopBtn.focus();
      if (!running && document.activeElement === document.body && this.root.contains(this.lastFocus ?? null)) {
        this.input.focus();
      }
    }
  }

  stop() {
    if (!this.hub.state.running) return;
    this.model.send({ type: "stop" });
    this.stopRequested = true;
    this.stopBtn?.classList.add("cnb-stopping");
    this.setStopLabel("Stopping…");
    clearTimeout(this.stopTimer);
    const showHint = () => {
      if (this.stopRequested && this.hint) {
        this.hint.textContent = BUSY_HINT;
        this.hint.hidden = false;
      }
    };
    if (this.hub.state.stop === "interrupt") showHint();
    else this.stopTimer = window.setTimeout(showHint, STOP_HINT_MS);
  }

  stopDone() {
    this.stopRequested = false;
    clearTimeout(this.stopTimer);
    this.stopBtn?.classList.remove("cnb-stopping");
    this.setStopLabel("Stop");
    if (this.hint) this.hint.hidden = true;
  }

  /** @param {string} text */
  setStopLabel(text) {
    const label = this.stopBtn?.querySelector(".cnb-stop-label");
    if (label && label.textContent !== text) label.textContent = text;
  }

  // --- events -----------------------------------------------------------------------

  /** @param {MouseEvent} e */
  onClick(e) {
    const target = /** @type {HTMLElement} */ (e.target);
    const action = /** @type {HTMLElement | null} */ (target.closest("[data-cnb-action]"));
    if (action && this.root.contains(action)) return this.onAction(action);
    const code = /** @type {HTMLElement | null} */ (target.closest(".cnb-copy, .cnb-insert"));
    if (code) return this.onCodeButton(code);
    const summary = target.closest("summary");
    if (summary && !target.closest("button, a")) this.recordToggle(summary);
  }

  /** @param {HTMLElement} el */
  onAction(el) {
    const type = el.dataset.cnbAction;
    if (type !== "approve" && type !== "deny") return;
    this.model.send({ type, id: el.dataset.cnbId ?? "" });
    const group = el.closest(".cnb-actions, .cnb-card") ?? el;
    group.querySelectorAll("[data-cnb-action]").forEach((b) => b.setAttribute("disabled", ""));
  }

  /** @param {HTMLElement} btn */
  async onCodeButton(btn) {
    const pre = /** @type {HTMLElement | null} */ (btn.closest(".cnb-code")?.querySelector("pre") ?? null);
    if (!pre) return;
    if (btn.classList.contains("cnb-insert")) {
      this.model.send({ type: "insert_cell", code: codeOf(pre) });
      return this.flash(btn, "Inserted");
    }
    this.flash(btn, (await copyText(codeOf(pre))) ? "Copied" : "Copy failed");
  }

  /** @param {HTMLElement} btn @param {string} text */
  flash(btn, text) {
    const label = btn.dataset.label ?? btn.textContent ?? "";
    btn.dataset.label = label;
    btn.textContent = text;
    setTimeout(() => (btn.textContent = label), 1200);
  }

  /** @param {Element} summary */
  recordToggle(summary) {
    const details = summary.parentElement;
    const block = /** @type {HTMLElement | null} */ (summary.closest(".cnb-block"));
    if (!(details instanceof HTMLDetailsElement) || !block || summary !== details.querySelector(":scope > summary")) return;
    const id = block.dataset.cnbBlock ?? "";
    const index = [...block.querySelectorAll("details")].indexOf(details);
    if (!this.toggles.has(id)) this.toggles.set(id, new Map());
    this.toggles.get(id)?.set(index, !details.open);
  }

  /** @param {KeyboardEvent} e */
  onKeydown(e) {
    if (e.key !== "Escape") return;
    const menu = this.root.querySelector(".cnb-menu:not([hidden])");
    if (menu && this.closeMenu) this.closeMenu();
    else if (this.hub.state.running && this.hub.state.stop !== "none") this.stop();
    else return;
    e.preventDefault();
    e.stopPropagation();
  }

  /** @param {KeyboardEvent} e */
  onInputKey(e) {
    e.stopPropagation(); // keep notebook shortcuts out of the text box
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      this.sendText();
    } else if (e.key === "Escape") {
      this.onKeydown(e);
    }
  }

  sendText() {
    const input = this.input;
    if (!input || this.hub.state.running || !input.value.trim()) return;
    this.model.send({ type: "send", text: input.value });
    input.value = "";
    this.lastFocus = input;
    this.stick = true;
    this.setState(this.hub.state);
  }

  onScroll() {
    const { log } = this;
    this.stick = log.scrollHeight - log.scrollTop - log.clientHeight < 32;
  }

  // --- content ----------------------------------------------------------------------

  /** Called after every op applied to this view. */
  changed() {
    if (!this.root.classList.contains("cnb-chat") || !this.stick || this.scrollQueued) return;
    this.scrollQueued = true;
    requestAnimationFrame(() => {
      this.scrollQueued = false;
      if (this.stick) this.log.scrollTop = this.log.scrollHeight;
    });
  }

  rebuild() {
    this.surface.copyFrom(this.hub.mirror);
    this.setState(this.hub.state);
    this.changed();
  }

  /** A block got new HTML: restore the user's <details> choices, add code tools, timers. @param {HTMLElement} blockEl */
  decorate(blockEl) {
    const choices = this.toggles.get(blockEl.dataset.cnbBlock ?? "");
    if (choices) {
      blockEl.querySelectorAll("details").forEach((d, i) => {
        const open = choices.get(i);
        if (open !== undefined) d.open = open;
      });
    }
    blockEl.querySelectorAll(".cnb-md pre").forEach((pre) => this.addCodeTools(/** @type {HTMLElement} */ (pre)));
    this.watchTimers(blockEl);
  }

  /**
   * New committed Markdown nodes were inserted into `parent` after `after` (all if null).
   * @param {HTMLElement} parent
   * @param {ChildNode | null} after
   */
  decorateInserted(parent, after) {
    for (let n = after ? after.nextSibling : parent.firstChild; n; n = n.nextSibling) {
      if (!(n instanceof HTMLElement)) continue;
      if (n.tagName === "PRE") this.addCodeTools(n);
      else n.querySelectorAll("pre").forEach((pre) => this.addCodeTools(/** @type {HTMLElement} */ (pre)));
    }
  }

  /** @param {HTMLElement} pre */
  addCodeTools(pre) {
    if (pre.classList.contains("cnb-json-live") || pre.parentElement?.classList.contains("cnb-code") || pre.closest(".cnb-md-t")) return;
    const tools = h("div", { class: "cnb-code-tools" },
      h("button", { type: "button", class: "cnb-copy", title: "Copy code" }, "Copy"),
      h("button", { type: "button", class: "cnb-insert", title: "Insert as a new cell below" }, "Insert as cell"));
    const wrap = h("div", { class: "cnb-code" });
    pre.replaceWith(wrap);
    wrap.append(pre, tools);
  }

  /** @param {HTMLElement} el */
  watchTimers(el) {
    el.querySelectorAll(".cnb-timer[data-running]").forEach((t) => this.timers.add(/** @type {HTMLElement} */ (t)));
    if (this.timers.size && !this.tick) this.tick = window.setInterval(() => this.updateTimers(), TICK_MS);
  }

  updateTimers() {
    const now = Date.now();
    for (const t of this.timers) {
      if (!t.isConnected || !t.hasAttribute("data-running")) {
        this.timers.delete(t);
        continue;
      }
      const until = Number.parseFloat(t.dataset.until ?? "");
      if (Number.isFinite(until)) {  // a countdown (retry-after): seconds left, kernel clock
        t.textContent = formatElapsed(Math.max(0, until - (now / 1000 + this.hub.clockOffset)));
        continue;
      }
      const t0 = Number.parseFloat(t.dataset.t0 ?? "");
      let elapsed;
      if (Number.isFinite(t0)) elapsed = now / 1000 + this.hub.clockOffset - t0;
      else {
        if (!this.firstSeen.has(t)) this.firstSeen.set(t, now);
        elapsed = (now - (this.firstSeen.get(t) ?? now)) / 1000;
      }
      t.textContent = formatElapsed(elapsed);
    }
    if (!this.timers.size) {
      clearInterval(this.tick);
      this.tick = 0;
    }
  }

  dispose() {
    this.closeMenu?.();
    clearInterval(this.tick);
    clearTimeout(this.stopTimer);
    this.hub.views.delete(this);
    this.root.remove();
  }
}

// ---------------------------------------------------------------------------------------

export default {
  /** @param {{ model: Model }} ctx */
  initialize({ model }) {
    const hub = hubFor(model);
    return () => {
      model.off("msg:custom", hub.onMessage);
      hub.dispose();
      for (const [key, value] of HUBS) if (value === hub) HUBS.delete(key);
    };
  },

  /** @param {{ model: Model, el: HTMLElement }} ctx */
  render({ model, el }) {
    const hub = hubFor(model);
    const view = new View(hub, model, el);
    hub.views.add(view);
    const onChat = () => {
      view.buildChrome();
      view.setState(hub.state);
      view.syncTraits();
    };
    const onTraits = () => view.syncTraits();
    model.on("change:chat", onChat);
    model.on("change:insert_cells", onTraits);
    model.on("change:title", onTraits);
    hub.hello();
    return () => {
      model.off("change:chat", onChat);
      model.off("change:insert_cells", onTraits);
      model.off("change:title", onTraits);
      view.dispose();
    };
  },
};
