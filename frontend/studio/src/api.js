// The studio's HTTP API (/studio/api/*, contract 2 in the brief): every call carries the access key as a bearer
// token. The key arrives in the address's fragment (`#token=...`, which no server log sees), is kept in this
// tab's sessionStorage, and is taken out of the address bar at once.

const STORAGE_KEY = "pdp-studio-token";

/** the access key: from the fragment when it has one (then removed from the address), else this tab's kept one */
export function takeToken(win = window) {
  const fragment = new URLSearchParams(win.location.hash.replace(/^#/, ""));
  const given = fragment.get("token");
  if (given) {
    win.sessionStorage.setItem(STORAGE_KEY, given);
    fragment.delete("token");
    const rest = fragment.toString();
    win.history.replaceState(null, "", win.location.pathname + win.location.search + (rest ? `#${rest}` : ""));
    return given;
  }
  return win.sessionStorage.getItem(STORAGE_KEY);
}

export function keepToken(token, win = window) {
  win.sessionStorage.setItem(STORAGE_KEY, token);
}

/** a refusal or failure of the API, with its status and its JSON body (`{error, detail, errors, diagnostics}`) */
export class ApiError extends Error {
  constructor(status, body) {
    super(describe(status, body));
    this.status = status;
    this.body = body || {};
  }
}

/** the words of an error body: its problems by field when it names them */
export function describe(status, body) {
  if (status === 0) return "The studio could not reach pdp. Is `pdp serve` or `pdp studio` still running?";
  if (status === 401) return "The access key is missing or was refused.";
  // the studio's errors carry the same list as `errors` and as `detail`: one of them, so each shows once
  const problems = Array.isArray(body?.errors) && body.errors.length ? body.errors
    : (Array.isArray(body?.detail) ? body.detail : []);
  if (problems.length) {
    return problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)).join("; ");
  }
  if (typeof body?.detail === "string") return body.detail;
  return body?.error ? `${body.error} (${status})` : `the request failed (${status})`;
}

export class Api {
  /** `onRefused` is called on every 401, so the page can say that the key is missing or wrong */
  constructor(token, onRefused, base = "api/") {
    this.token = token;
    this.onRefused = onRefused;
    this.base = base;
  }

  get(path) {
    return this.call("GET", path);
  }

  post(path, body) {
    return this.call("POST", path, body);
  }

  async call(method, path, body) {
    const headers = { Accept: "application/json" };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(this.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new ApiError(0, null);
    }
    let answer = null;
    try {
      answer = await response.json();
    } catch {
      answer = null;
    }
    if (response.status === 401) this.onRefused?.();
    if (!response.ok) throw new ApiError(response.status, answer);
    return answer;
  }
}
