// "Save": format the changed policy files, then save; the server checks first and writes nothing when the set
// has errors. Under `pdp serve` the served set reloads, and the page says so.
import { count } from "./dom.js";

export class Saver {
  constructor(studio, el, announce, showTab) {
    this.studio = studio;
    this.el = el; // {button}
    this.announce = announce;
    this.showTab = showTab;
    this.busy = false;
    el.button.addEventListener("click", () => this.save());
  }

  async save() {
    if (this.busy) return;
    const changed = Object.keys(this.studio.edits());
    if (!changed.length) {
      this.announce("Nothing to save: no file was changed.");
      return;
    }
    this.busy = true;
    this.el.button.disabled = true;
    try {
      if (!(await this.format(changed))) return;
      const edits = this.studio.edits();
      const answer = await this.studio.api.post("save", { edits, ...(await this.base(Object.keys(edits))) });
      this.studio.markSaved(answer.saved || []);
      const names = (answer.saved || []).map((p) => this.studio.short(p)).join(", ");
      const reloaded = answer.reloaded
        ? ` The policy set in service reloaded${answer.version ? `: version ${answer.version}` : ""}.`
        : answer.reload_errors
          ? " The policy set in service did not reload (the last good one keeps serving)."
          : " (No policy set is served from here, so nothing reloaded.)";
      this.announce(`Saved ${count((answer.saved || []).length, "file")} (${names}).${reloaded}`);
      this.studio.check();
    } catch (error) {
      if ((error.status === 409 || error.status === 422) && error.body?.diagnostics) {
        this.studio.showDiagnostics(error.body.diagnostics, true);
        this.showTab("tab-problems");
        this.announce("Not saved: the policy set has errors (see Problems). Nothing was written.");
      } else {
        this.announce(`Not saved: ${error.message}`);
      }
    } finally {
      this.busy = false;
      this.el.button.disabled = false;
    }
  }

  /** `{base: {path: sha256}}` of the texts the edits started from, so a file changed on disk meanwhile is not
      overwritten (the server refuses it, 409); nothing where the browser has no WebCrypto (a plain-http host) */
  async base(paths) {
    if (!globalThis.crypto?.subtle) return {};
    const base = {};
    for (const path of paths) {
      const bytes = new TextEncoder().encode(this.studio.files.get(path).original);
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
      base[path] = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
    }
    return { base };
  }

  /** format every changed policy file; false (and the errors shown) when one does not parse */
  async format(paths) {
    for (const path of paths.filter((p) => p.endsWith(".pdp"))) {
      try {
        const answer = await this.studio.api.post("format", { edits: this.studio.edits(), file: path });
        if (typeof answer.text === "string" && answer.text !== this.studio.textOf(path)) this.studio.replaceText(path, answer.text);
      } catch (error) {
        if (error.status === 422 && error.body?.diagnostics) {
          this.studio.showDiagnostics(error.body.diagnostics, true);
          this.showTab("tab-problems");
          this.announce(`Not saved: ${this.studio.short(path)} has errors (see Problems). Nothing was written.`);
          return false;
        }
        throw error;
      }
    }
    return true;
  }
}

