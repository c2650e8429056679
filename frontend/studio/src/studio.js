// The studio's model of the policy set being edited: every file's editor state, what changed since it was read
// or saved, the problems the checker reports, and the marks other panes put in the editor (the rules a decision
// named, test coverage). Panes talk to the editor only through this class.
import { forceParsing } from "@codemirror/language";
import { setDiagnostics } from "@codemirror/lint";
import { EditorSelection } from "@codemirror/state";
import { EditorView } from "@codemirror/view";
import { count, fill, h } from "./dom.js";
import { fileState, mountEditor, setCoverage, setRuleMarks } from "./editor.js";
import { rangeOf, toOffset } from "./positions.js";

const CHECK_DELAY_MS = 250; // a pause in typing this long asks for a check
// the file list's groups, in order, by the kinds of file `/files` names
const GROUP_OF_KIND = {
  policy: "Policy files",
  vocabulary: "Vocabulary",
  data: "Registers",
  tests: "Tests",
  clauses: "Privacy policy and clauses",
  text: "Privacy policy and clauses",
};
const OTHER_FILES = "Other files";

export class Studio {
  constructor(api, elements, announce) {
    this.api = api;
    this.el = elements; // {editor, fileList, fileTitle, fileChanged, problemsSummary, problemsList, problemCount, setName}
    this.announce = announce;
    this.files = new Map(); // path -> {path, kind, original, state}
    this.current = null;
    this.view = null;
    this.root = "";
    this.diagnostics = [];
    this.generation = 0; // bumped by every edit: an answer about an older text is dropped
    this.checkTimer = null;
    this.features = {
      complete: (path, line, col) => this.ask("complete", { file: path, line, col }).then((a) => a?.items || []),
      hover: (path, line, col) => this.ask("hover", { file: path, line, col }),
      definition: (path, line, col) => this.definition(path, line, col),
    };
  }

  // ---------------------------------------------------------------- files

  async load() {
    const answer = await this.api.get("files");
    this.root = answer.root || "";
    fill(this.el.setName, [answer.name, answer.version].filter(Boolean).join(" · "));
    for (const file of answer.files) {
      this.files.set(file.path, { path: file.path, kind: file.kind, original: file.text, state: null });
    }
    this.renderFileList();
    const policies = answer.files.filter((f) => f.kind === "policy");
    const first = policies.find((f) => /cx-one-go|main|policy/.test(f.path)) || policies[0] || answer.files[0];
    if (first) this.open(first.path);
    this.check();
  }

  /** a file's name as the user knows it: without the set's directory */
  short(path) {
    return this.root && path.startsWith(`${this.root}/`) ? path.slice(this.root.length + 1) : path;
  }

  stateOf(path) {
    const file = this.files.get(path);
    if (!file) return null;
    if (path === this.current && this.view) return this.view.state;
    if (!file.state) file.state = fileState(path, file.original, this.features, (p) => this.changed(p), file.kind === "text");
    return file.state;
  }

  textOf(path) {
    const file = this.files.get(path);
    if (!file) return null;
    return file.state || path === this.current ? this.stateOf(path).doc.toString() : file.original;
  }

  /** the files the user changed, as the API wants them: `{path: text}` */
  edits() {
    const out = {};
    for (const file of this.files.values()) {
      const text = this.textOf(file.path);
      if (text !== file.original) out[file.path] = text;
    }
    return out;
  }

  /** open `path` in the editor, optionally selecting `where` ({line, col, end_line, end_col}) */
  open(path, where = null, focus = false) {
    if (!this.files.has(path)) return false;
    if (this.current && this.view) this.files.get(this.current).state = this.view.state;
    const state = this.stateOf(path);
    this.current = path;
    if (!this.view) this.view = mountEditor(this.el.editor, state);
    else this.view.setState(state);
    fill(this.el.fileTitle, this.short(path), this.files.get(path).kind === "text" ? " (read only)" : "");
    this.renderFileList();
    this.renderChanged();
    // a policy file is small: parse it whole at once, so that no part of it shows unhighlighted for a moment
    forceParsing(this.view, this.view.state.doc.length, 200);
    if (where) {
      const range = rangeOf(this.view.state.doc, where);
      // a word is selected; a whole rule is not (the cursor goes to its start, the rule keeps its marks)
      const oneLine = this.view.state.doc.lineAt(range.from).number === this.view.state.doc.lineAt(range.to).number;
      const selection = oneLine ? EditorSelection.single(range.from, range.to) : EditorSelection.cursor(range.from);
      this.view.dispatch({ selection, effects: EditorView.scrollIntoView(range.from, { y: "center" }) });
    }
    if (focus) this.view.focus();
    return true;
  }

  goTo(location) {
    if (!location) return;
    if (!this.open(location.file, location, true)) this.announce(`${location.file} is not a file of this policy set`);
  }

  async definition(path, line, col) {
    const answer = await this.ask("definition", { file: path, line, col });
    if (answer?.location) this.goTo(answer.location);
    else this.announce("No definition found for the word under the cursor");
  }

  /** apply `spec(state)` (a transaction spec) to a file, open or not */
  update(path, spec) {
    if (path === this.current && this.view) {
      this.view.dispatch(spec(this.view.state));
      return;
    }
    const state = this.stateOf(path);
    if (state) this.files.get(path).state = state.update(spec(state)).state;
  }

  replaceText(path, text) {
    this.update(path, (state) => ({ changes: { from: 0, to: state.doc.length, insert: text } }));
    this.changed(path);
  }

  /** the texts now on disk are these (after a save) */
  markSaved(paths) {
    for (const path of paths) {
      const file = this.files.get(path);
      if (file) file.original = this.textOf(path);
    }
    this.renderFileList();
    this.renderChanged();
  }

  changed(path) {
    this.generation += 1;
    if (path === this.current) this.renderChanged();
    this.renderFileList();
    clearTimeout(this.checkTimer);
    this.checkTimer = setTimeout(() => this.check(), CHECK_DELAY_MS);
  }

  renderChanged() {
    const changed = this.current && this.textOf(this.current) !== this.files.get(this.current).original;
    fill(this.el.fileChanged, changed ? "changed, not saved" : "");
  }

  renderFileList() {
    const groups = new Map([...Object.values(GROUP_OF_KIND), OTHER_FILES].map((title) => [title, []]));
    for (const file of this.files.values()) groups.get(GROUP_OF_KIND[file.kind] || OTHER_FILES).push(file);
    const errorsIn = new Set(this.diagnostics.filter((d) => d.severity === "error").map((d) => d.file));
    const sections = [...groups.entries()]
      .filter(([, files]) => files.length)
      .map(([title, files]) => {
        const id = `files-${title.replace(/\W+/g, "-").toLowerCase()}`;
        return h("div", { class: "file-group" },
          h("h3", { id }, title),
          h("ul", { "aria-labelledby": id },
            files.map((file) => {
              const changed = (file.state || file.path === this.current) && this.textOf(file.path) !== file.original;
              return h("li", {},
                h("button", {
                  type: "button",
                  class: "file-button",
                  "aria-current": file.path === this.current ? "true" : undefined,
                  "data-path": file.path,
                  onclick: () => this.open(file.path, null, true),
                },
                this.short(file.path),
                changed ? h("span", { class: "dot", title: "changed, not saved" }, " •", h("span", { class: "sr-only" }, " (changed)")) : null,
                errorsIn.has(file.path) ? h("span", { class: "error-mark", title: "has errors" }, " !", h("span", { class: "sr-only" }, " (has errors)")) : null));
            })));
      });
    fill(this.el.fileList, sections);
  }

  // ---------------------------------------------------------------- the API, with the edits

  /** ask the API about the text being edited; `null` when the text changed meanwhile */
  async ask(what, body) {
    const generation = this.generation;
    try {
      const answer = await this.api.post(what, { edits: this.edits(), ...body });
      return generation === this.generation ? answer : null;
    } catch (error) {
      if (error.status !== 422) this.announce(error.message);
      return null;
    }
  }

  // ---------------------------------------------------------------- checking

  /** errors first (fast), then with the whole set's warnings */
  async check() {
    clearTimeout(this.checkTimer);
    const generation = this.generation;
    const edits = this.edits();
    try {
      const errors = await this.api.post("check", { edits, warnings: false });
      if (generation !== this.generation) return;
      this.showDiagnostics(errors.diagnostics, false);
      const all = await this.api.post("check", { edits });
      if (generation !== this.generation) return;
      this.showDiagnostics(all.diagnostics, true);
    } catch (error) {
      fill(this.el.problemsSummary, `Could not check: ${error.message}`);
    }
  }

  showDiagnostics(diagnostics, withWarnings) {
    this.diagnostics = sortDiagnostics(diagnostics || []);
    for (const path of this.files.keys()) {
      const mine = this.diagnostics.filter((d) => d.file === path);
      if (!mine.length && !this.files.get(path).state && path !== this.current) continue;
      this.update(path, (state) => setDiagnostics(state, mine.map((d) => this.toLint(state, d))));
    }
    this.renderProblems(withWarnings);
    this.renderFileList();
  }

  toLint(state, d) {
    const { from, to } = rangeOf(state.doc, d);
    return {
      from,
      to,
      severity: d.severity === "error" ? "error" : d.accepted ? "info" : "warning",
      source: d.code,
      message: `${d.message}${d.hint ? ` (${d.hint})` : ""}`,
      renderMessage: () => h("div", { class: "lint-message" },
        h("strong", {}, d.message),
        d.hint ? h("div", { class: "hint" }, d.hint) : null,
        d.accepted ? h("div", { class: "hint" }, `accepted: ${d.accepted}`) : null),
      actions: (d.fixes || []).map((fix) => ({ name: fix.title, apply: () => this.applyFix(fix) })),
    };
  }

  applyFix(fix) {
    const byFile = new Map();
    for (const edit of fix.edits) {
      if (!byFile.has(edit.file)) byFile.set(edit.file, []);
      byFile.get(edit.file).push(edit);
    }
    for (const [path, edits] of byFile) {
      this.update(path, (state) => ({
        changes: edits.map((e) => {
          const from = toOffset(state.doc, e.line, e.col);
          const to = e.end_line ? toOffset(state.doc, e.end_line, e.end_col) : from;
          return { from, to: Math.max(from, to), insert: e.new_text };
        }),
      }));
      this.changed(path);
    }
    this.announce(`Applied: ${fix.title}`);
  }

  renderProblems(withWarnings) {
    const errors = this.diagnostics.filter((d) => d.severity === "error");
    const warnings = this.diagnostics.filter((d) => d.severity !== "error");
    const summary = errors.length
      ? `${count(errors.length, "error")}${warnings.length ? ` and ${count(warnings.length, "warning")}` : ""}: the policy set cannot be used until the errors are fixed.`
      : warnings.length
        ? `No errors. ${count(warnings.length, "warning")}.`
        : withWarnings ? "No problems found." : "No errors. Looking for warnings…";
    fill(this.el.problemsSummary, summary);
    const open = this.diagnostics.filter((d) => !d.accepted).length; // an accepted warning needs no look
    fill(this.el.problemCount, open ? String(open) : "");
    if (open) this.el.problemCount.setAttribute("aria-label", count(open, "problem"));
    else this.el.problemCount.removeAttribute("aria-label");
    fill(this.el.problemsList, this.diagnostics.map((d) => h("li", { class: `problem problem-${d.severity}` },
      h("button", { type: "button", class: "link", onclick: () => this.goTo(d) },
        h("span", { class: "where" }, `${this.short(d.file)}:${d.line}:${d.col}`),
        " ",
        h("span", { class: "severity" }, d.severity === "error" ? "error" : d.accepted ? "accepted warning" : "warning"),
        " ",
        h("code", {}, d.code)),
      h("div", { class: "message" }, d.message),
      d.hint ? h("div", { class: "hint" }, d.hint) : null,
      (d.fixes || []).map((fix) => h("button", { type: "button", class: "fix", onclick: () => this.applyFix(fix) }, fix.title)))));
  }

  // ---------------------------------------------------------------- marks from the other panes

  /** mark the rules a decision named (`[{file, line, col, end_line, end_col, outcome}]`), clearing earlier marks */
  markRules(rules) {
    for (const path of this.files.keys()) {
      const mine = rules.filter((r) => r.file === path);
      if (!mine.length && !this.files.get(path).state && path !== this.current) continue;
      this.update(path, (state) => ({
        effects: setRuleMarks.of(mine.map((r) => ({ ...rangeOf(state.doc, r), outcome: r.outcome }))),
      }));
    }
  }

  /** show test coverage in the gutters: the API's `coverage` answer */
  markCoverage(coverage) {
    const byFile = new Map();
    const add = (file, mark) => {
      if (!byFile.has(file)) byFile.set(file, []);
      byFile.get(file).push(mark);
    };
    for (const rule of coverage?.rules || []) add(rule.file, { line: rule.line, kind: rule.covered ? "covered" : "uncovered" });
    for (const c of coverage?.conditions || []) {
      const kind = c.seen_true && c.seen_false ? "both" : c.seen_true ? "only-true" : c.seen_false ? "only-false" : "never";
      add(c.file, { line: c.line, kind });
    }
    for (const path of this.files.keys()) {
      const marks = byFile.get(path) || [];
      if (!marks.length && !this.files.get(path).state && path !== this.current) continue;
      this.update(path, () => ({ effects: setCoverage.of(marks) }));
    }
  }
}

function sortDiagnostics(diagnostics) {
  const rank = (d) => (d.severity === "error" ? 0 : d.accepted ? 2 : 1);
  return [...diagnostics].sort((a, b) => rank(a) - rank(b) || a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
}
