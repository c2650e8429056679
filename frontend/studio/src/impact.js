// "What this change does": the edit compared with the set in service (or the last commit), in words, with the
// requests whose decision flips (each can be tried); and questions about the whole set (pdp query) from a form.
import { fill, h } from "./dom.js";

const ANSWER_WORDS = {
  yes: "Yes: such a request exists.",
  never: "No: no request of that kind gets that decision.",
  unknown: "pdp could not settle this question within its budget (this is not a no).",
};

export class ImpactPane {
  constructor(studio, el, tryPane) {
    this.studio = studio;
    this.el = el; // {diffForm, diffResult, queryForm, queryResult, decision, action, purpose, categories, where}
    this.tryPane = tryPane;
    el.diffForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.diff(new FormData(el.diffForm).get("against") || "served");
    });
    el.queryForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.query();
    });
  }

  tryButton(request) {
    return h("button", { type: "button", class: "try", onclick: () => this.tryPane.use(request) }, "Try this request");
  }

  async diff(against) {
    fill(this.el.diffResult, h("p", {}, "Comparing…"));
    try {
      const answer = await this.studio.api.post("diff", { edits: this.studio.edits(), against });
      const changes = answer.changes || [];
      fill(this.el.diffResult,
        h("p", { class: "summary", id: "diff-summary" }, changes.length
          ? `${changes.length} kind${changes.length === 1 ? "" : "s"} of request would be decided differently.`
          : "No request would be decided differently."),
        answer.complete === false
          ? h("p", { class: "error" }, "The comparison stopped at its budget: there may be more changes than these.")
          : null,
        changes.length
          ? h("ul", { class: "changes" }, changes.map((c) => h("li", { class: "change" },
            c.example ? h("div", { class: "flip" }, describe(c.example)) : null,
            h("div", {}, c.summary),
            c.example ? h("details", {}, h("summary", {}, "Example request"), h("pre", {}, JSON.stringify(c.example, null, 2))) : null,
            c.example ? this.tryButton(c.example) : null)))
          : null,
        answer.text ? h("details", { open: changes.length ? undefined : true }, h("summary", {}, "In full"), h("pre", { class: "explanation" }, answer.text)) : null);
    } catch (error) {
      fill(this.el.diffResult, h("p", { class: "error" }, this.refusal(error, "compared")));
    }
  }

  async query() {
    const list = (text) => text.split(/[,\n]/).map((s) => s.trim()).filter(Boolean);
    const body = { edits: this.studio.edits(), decision: this.el.decision.value };
    if (this.el.action.value.trim()) body.action = this.el.action.value.trim();
    if (this.el.purpose.value.trim()) body.purpose = this.el.purpose.value.trim();
    const categories = list(this.el.categories.value);
    if (categories.length) body.categories = categories;
    const where = this.el.where.value.split("\n").map((s) => s.trim()).filter(Boolean);
    if (where.length) body.where = where;
    fill(this.el.queryResult, h("p", {}, "Thinking…"));
    try {
      const answer = await this.studio.api.post("query", body);
      fill(this.el.queryResult,
        h("p", { class: `answer answer-${answer.answer}`, id: "query-answer" }, ANSWER_WORDS[answer.answer] || answer.answer),
        answer.text ? h("pre", { class: "explanation" }, answer.text) : null,
        answer.example ? h("details", {}, h("summary", {}, "Example request"), h("pre", {}, JSON.stringify(answer.example, null, 2))) : null,
        answer.example ? this.tryButton(answer.example) : null);
    } catch (error) {
      fill(this.el.queryResult, h("p", { class: "error" }, this.refusal(error, "answered")));
    }
  }

  refusal(error, done) {
    if (error.status === 422 && error.body?.diagnostics) {
      this.studio.showDiagnostics(error.body.diagnostics, true);
      return `The policy set has errors, so it cannot be ${done}: see Problems.`;
    }
    return error.message;
  }
}

/** a request in a line: its action, purpose and data categories (or, for an AuthZEN request, its action and
    resource) */
function describe(request) {
  const parts = [request.action?.name ?? request.action, request.purpose, (request.data_categories || []).join(", "),
    request.resource?.type ? `${request.resource.type} ${request.resource.id ?? ""}`.trim() : null];
  return parts.filter(Boolean).join(" · ");
}
