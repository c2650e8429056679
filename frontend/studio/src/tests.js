// "Run the tests": the set's YAML policy tests over the text being edited; failures next to their cases (each
// opens its file at the case), rule and condition coverage in the editor's gutter and listed here.
import { count, fill, h } from "./dom.js";

export class TestsPane {
  constructor(studio, el) {
    this.studio = studio;
    this.el = el; // {button, result}
    el.button.addEventListener("click", () => this.run());
  }

  async run() {
    fill(this.el.result, h("p", {}, "Running the tests…"));
    this.el.button.disabled = true;
    try {
      const answer = await this.studio.api.post("test", { edits: this.studio.edits() });
      this.show(answer);
    } catch (error) {
      if (error.status === 422 && error.body?.diagnostics) {
        this.studio.showDiagnostics(error.body.diagnostics, true);
        fill(this.el.result, h("p", { class: "error" }, "The policy set has errors, so the tests cannot run: see Problems."));
      } else {
        fill(this.el.result, h("p", { class: "error" }, `The tests could not run: ${error.message}`));
      }
    } finally {
      this.el.button.disabled = false;
    }
  }

  show(answer) {
    const cases = answer.cases || [];
    const failed = cases.filter((c) => !c.ok);
    const coverage = answer.coverage || {};
    this.studio.markCoverage(coverage);
    const uncovered = (coverage.rules || []).filter((r) => !r.covered);
    const halfSeen = (coverage.conditions || []).filter((c) => !(c.seen_true && c.seen_false));
    const unread = answer.file_errors || [];
    const open = (where) => this.studio.goTo({ file: where.file, line: where.line, col: where.col || 1 });
    fill(this.el.result,
      h("p", { class: `verdict ${answer.failed ? "denied" : "allowed"}`, id: "tests-summary" },
        `${answer.passed} passed, ${answer.failed} failed`),
      unread.length
        ? h("div", {}, h("h3", {}, "Test files that could not be read"), h("ul", { class: "cases" }, unread.map((d) => h("li", { class: "case failed" },
          h("button", { type: "button", class: "link", onclick: () => open(d) }, `${this.studio.short(d.file)}:${d.line}`),
          " ", d.message, d.hint ? h("div", { class: "help" }, d.hint) : null))))
        : null,
      failed.length
        ? h("div", {}, h("h3", {}, "Failed"), h("ul", { class: "cases" }, failed.map((c) => h("li", { class: "case failed" },
          h("button", { type: "button", class: "link", onclick: () => open(c) }, `${this.studio.short(c.file)}:${c.line}`),
          " ", h("span", { class: "case-name" }, c.name),
          c.message ? h("pre", { class: "message" }, c.message) : null))))
        : null,
      h("h3", {}, "Coverage"),
      h("p", {}, `Rules reached by a test: ${percent(coverage.rule_percent)}. Conditions' outcomes seen (each condition true, and false): ${percent(coverage.condition_percent)}.`),
      h("p", { class: "help" }, "In the editor's gutter: ✓ covered, ✗ not reached, T or F: a condition seen only true or only false."),
      uncovered.length
        ? h("details", {}, h("summary", {}, `${count(uncovered.length, "rule")} no test reaches`),
          h("ul", {}, uncovered.map((r) => h("li", {}, h("button", { type: "button", class: "link", onclick: () => open(r) }, h("code", {}, r.id)), ` ${this.studio.short(r.file)}:${r.line}`))))
        : null,
      halfSeen.length
        ? h("details", {}, h("summary", {}, `${count(halfSeen.length, "condition")} not seen both true and false`),
          h("ul", {}, halfSeen.map((c) => h("li", {},
            h("button", { type: "button", class: "link", onclick: () => open(c) }, `${this.studio.short(c.file)}:${c.line}`),
            " ", c.condition ? h("code", {}, c.condition) : null,
            ` ${c.seen_true ? "only true" : c.seen_false ? "only false" : "never evaluated"}`))))
        : null,
      cases.length - failed.length
        ? h("details", {}, h("summary", {}, `${count(cases.length - failed.length, "case")} passed`),
          h("ul", { class: "cases" }, cases.filter((c) => c.ok).map((c) => h("li", { class: "case" },
            h("button", { type: "button", class: "link", onclick: () => open(c) }, `${this.studio.short(c.file)}:${c.line}`), " ", c.name))))
        : null);
  }
}

function percent(value) {
  return typeof value === "number" ? `${Math.round(value * 10) / 10}%` : "unknown";
}
