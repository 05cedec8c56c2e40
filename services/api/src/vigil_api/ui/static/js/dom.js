// Building DOM nodes. User text only ever becomes a Text node or an attribute value:
// nothing here parses HTML, so a target named `<img onerror=...>` shows up literally.

const SVG_NS = "http://www.w3.org/2000/svg";

function apply(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "on") {
      for (const [type, fn] of Object.entries(value)) el.addEventListener(type, fn);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** An HTML element: h("a", {href: "/", class: "x"}, "text", otherNode). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

/** An SVG element, same calling convention as h(). */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

/** A card section: its heading (`id` labels the section), an action beside it, then `body`. */
export function card(id, title, action, ...body) {
  return h("section", { class: "card", "aria-labelledby": id },
    h("div", { class: "card-head" }, h("h2", { id }, title), action), ...body);
}

/** Replace all children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Show a form (`made`: {form, focus}) in `panel`, the box above a table, and focus it. Returns
 * close(), which empties and hides the panel and gives focus back to what opened it, found by
 * its data-key inside `root` (a refresh may have drawn the table anew meanwhile), or else to
 * `fallback`. */
export function openPanel(panel, made, { opener, fallback, root }) {
  const key = opener?.dataset.key;
  replace(panel, made.form);
  panel.hidden = false;
  made.focus();
  return () => {
    replace(panel);
    panel.hidden = true;
    ((key && root.querySelector(`[data-key="${CSS.escape(key)}"]`)) || fallback).focus();
  };
}

/** Re-render `box` with `paint` and give focus back to the control (data-key) that had it; when
 * that control is gone (its row was deleted, say), to the box. */
export function keepFocus(box, paint) {
  const active = document.activeElement;
  const key = box.contains(active) ? active.dataset.key : null;
  paint();
  if (key) (box.querySelector(`[data-key="${CSS.escape(key)}"]`) || box).focus();
}

/** Call `fn` at most once per `ms`, with the latest arguments, trailing edge. */
export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

/** Like debounce, but fires at most every `ms` while calls keep coming (for live refreshes). */
export function throttle(fn, ms) {
  let timer = null;
  let pending = false;
  const wrapped = () => {
    if (timer) {
      pending = true;
      return;
    }
    fn();
    timer = setTimeout(function tick() {
      timer = null;
      if (pending) {
        pending = false;
        wrapped();
      }
    }, ms);
  };
  wrapped.cancel = () => {
    clearTimeout(timer);
    timer = null;
    pending = false;
  };
  return wrapped;
}
