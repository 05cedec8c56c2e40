// The login page: username and password to POST /api/v1/auth/login, the server's own answer
// when it refuses (a wrong password, too many attempts), then back to the page that sent the
// user here.

import { ApiError, api, setCsrfToken } from "./api.js";
import { h, replace } from "./dom.js";
import { clearErrors, field, showErrors, text } from "./fields.js";

/** The `next` parameter when it is a path on this origin (never another site: an open
 * redirect would lend this page's trust to a phishing link), else the dashboard. */
export function nextPath(search = location.search) {
  const raw = new URLSearchParams(search).get("next");
  if (!raw || !raw.startsWith("/")) return "/";
  let u;
  try {
    u = new URL(raw, location.origin);
  } catch {
    return "/";
  }
  if (u.origin !== location.origin || u.pathname === "/login") return "/";
  return u.pathname + u.search + u.hash;
}

export function renderLogin(main) {
  const username = text({ autocomplete: "username", required: true, maxlength: 200, autocapitalize: "none" });
  const password = text({ type: "password", autocomplete: "current-password", required: true, maxlength: 1024 });
  const banner = h("div", { class: "alert", role: "alert", hidden: true });
  const submit = h("button", { class: "button primary", type: "submit" }, "Log in");
  const form = h("form", { class: "login-form", novalidate: true, "aria-labelledby": "login-title" },
    banner,
    field("username", "Username", username),
    field("password", "Password", password),
    h("div", { class: "form-actions" }, submit));
  let wait = null;

  // A 429 names how long to wait: the button says so and comes back by itself.
  function holdOff(seconds) {
    clearInterval(wait);
    let left = seconds;
    submit.disabled = true;
    const tick = () => {
      if (left <= 0) {
        clearInterval(wait);
        submit.disabled = false;
        submit.textContent = "Log in";
        return;
      }
      submit.textContent = `Try again in ${left} s`;
      left -= 1;
    };
    tick();
    wait = setInterval(tick, 1000);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form, banner);
    submit.disabled = true;
    let answer;
    try {
      answer = await api.post("/auth/login", { username: username.value, password: password.value }, { anonymous: true });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      submit.disabled = false;
      showErrors(form, banner, err.fieldErrors(), { title: "Not logged in:", fallback: err.message });
      if (err.status === 429 && err.retryAfter) holdOff(err.retryAfter);
      if (err.status === 401) {
        password.value = "";
        password.focus();
      }
      return;
    }
    setCsrfToken(answer.csrf_token);
    // A full load: every module starts again with this user's session and role.
    location.replace(nextPath());
  });

  replace(main, h("section", { class: "login card" },
    h("h1", { id: "login-title" }, "Log in to Vigil"),
    form));
  document.title = "Vigil · Log in";
  username.focus();
  return () => clearInterval(wait);
}
