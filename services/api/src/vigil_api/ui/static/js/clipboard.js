// Copying a secret the page shows once or keeps (a push URL, a new API token) to the clipboard.

import { h } from "./dom.js";

/** Copy `text`; without the async clipboard (an insecure origin, a denied permission) select
 * `el`'s text so that Ctrl+C copies it, and say so in `status`. */
export async function copy(text, el, status) {
  try {
    await navigator.clipboard.writeText(text);
    status.textContent = "Copied.";
    return;
  } catch {
    // fall through to selecting it
  }
  if (el instanceof HTMLInputElement) {
    el.focus();
    el.select();
  } else {
    const range = document.createRange();
    range.selectNodeContents(el);
    getSelection().removeAllRanges();
    getSelection().addRange(range);
  }
  status.textContent = "Selected: press Ctrl+C (⌘C) to copy.";
}

/** A "Copy" button for `text` shown in `el`; `label` names what it copies for screen readers. */
export function copyButton(label, text, el, status) {
  return h("button", { class: "button small", type: "button", "aria-label": label, on: { click: () => copy(text, el, status) } }, "Copy");
}
