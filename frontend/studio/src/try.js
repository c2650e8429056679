// "Try a request": pick an example (the set's own test cases) or write one, decide it against the text being
// edited, and read the decision, the rules that decided it with their clauses, and the explanation in words.
// The rules it names are marked in the editor; each can be opened.
import { count, fill, h } from "./dom.js";

const UNRELATED = "not about this request"; // an outcome of the explanation's rules (studio API, trying.py)
const OUTCOME_ORDER = ["applied", "could not be evaluated", "did not apply"];

/** the rules that applied first, then those that failed, then those that did not apply */
function byOutcome(a, b) {
  const rank = (r) => (OUTCOME_ORDER.includes(r.outcome) ? OUTCOME_ORDER.indexOf(r.outcome) : OUTCOME_ORDER.length);
  return rank(a) - rank(b);
}

export class TryPane {
  constructor(studio, el, showTab) {
    this.studio = studio;
    this.el = el; // {form, examples, request, events, result}
    this.showTab = showTab;
    this.examples = [];
    el.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.decide();
    });
    el.examples.addEventListener("change", () => {
      const example = this.examples[Number(el.examples.value)];
      if (example) this.use(example.request, false, example.events);
    });
  }

  async loadExamples() {
    try {
      const answer = await this.studio.api.get("examples");
      this.examples = answer.requests || [];
    } catch (error) {
      this.examples = [];
      fill(this.el.result, `The example requests could not be read: ${error.message}`);
    }
    const bySource = new Map();
    this.examples.forEach((example, index) => {
      // grouped by test file; each named by its case (the file's name is the group's)
      const source = this.studio.short((example.source || "examples").replace(/:\d+$/, ""));
      const name = example.name.startsWith(`${source}: `) ? example.name.slice(source.length + 2) : example.name;
      if (!bySource.has(source)) bySource.set(source, []);
      bySource.get(source).push(h("option", { value: String(index) }, name));
    });
    fill(this.el.examples,
      h("option", { value: "" }, this.examples.length ? "Choose an example request…" : "No example requests in this set"),
      [...bySource.entries()].map(([source, options]) => h("optgroup", { label: source }, options)));
    if (!this.el.request.value.trim() && this.examples.length) this.use(this.examples[0].request, false, this.examples[0].events);
  }

  /** put `request` (and its ledger `events`) in the boxes; `show` brings the pane forward */
  use(request, show = true, events = null) {
    this.el.request.value = JSON.stringify(request, null, 2);
    this.el.events.value = events && events.length ? JSON.stringify(events, null, 2) : "";
    if (show) {
      this.showTab("tab-try");
      this.el.request.focus();
    }
  }

  async decide() {
    let request;
    let events;
    try {
      request = JSON.parse(this.el.request.value);
    } catch (error) {
      return this.say(h("p", { class: "error" }, `The request is not valid JSON: ${error.message}`));
    }
    if (this.el.events.value.trim()) {
      try {
        events = JSON.parse(this.el.events.value);
      } catch (error) {
        return this.say(h("p", { class: "error" }, `The ledger events are not valid JSON: ${error.message}`));
      }
    }
    this.say(h("p", {}, "Deciding…"));
    try {
      const answer = await this.studio.api.post("decide", { edits: this.studio.edits(), request, ...(events ? { events } : {}) });
      this.show(answer);
    } catch (error) {
      if (error.status === 422 && error.body?.diagnostics) {
        this.studio.showDiagnostics(error.body.diagnostics, true);
        this.say(h("p", { class: "error" }, "The policy set has errors, so nothing can be decided: see Problems."));
      } else {
        this.say(h("p", { class: "error" }, `The request was refused: ${error.message}`));
      }
    }
  }

  show({ decision, explanation }) {
    const allowed = decision.decision === "allow";
    const rules = explanation?.rules || [];
    // the rules the request was about are marked; the others (not about this request) only counted
    const asked = rules.filter((r) => r.outcome !== UNRELATED);
    const unrelated = rules.length - asked.length;
    this.studio.markRules(asked);
    const reasons = decision.reasons || [];
    const duties = [...(decision.obligations || []).map((o) => ["must", o]), ...(decision.advice || []).map((a) => ["advice", a])];
    this.say(
      h("p", { class: `verdict ${allowed ? "allowed" : "denied"}`, id: "verdict" }, allowed ? "Allowed" : "Denied"),
      reasons.length
        ? h("div", {},
          h("h3", {}, allowed ? "Allowed by" : "Denied by"),
          h("ul", { class: "reasons" }, reasons.map((r) => h("li", {},
            this.ruleLink(r.rule, rules),
            r.cite ? h("span", { class: "cite" }, ` ${r.cite}`) : null,
            r.message ? h("div", { class: "message" }, r.message) : null,
            this.clauses(r.rule, rules)))))
        : h("p", {}, allowed ? "" : "No rule allows this request, so it is denied (what is not allowed is refused)."),
      !allowed && explanation?.would_allow?.length
        ? h("div", {}, h("h3", {}, "What would allow it"),
          h("ul", { class: "would-allow" }, explanation.would_allow.map((text) => h("li", {}, text))))
        : null,
      duties.length
        ? h("div", {}, h("h3", {}, "Conditions that come with it"),
          h("ul", {}, duties.map(([kind, d]) => h("li", {}, h("code", {}, d.id), kind === "advice" ? " (advice)" : "", d.text ? `: ${d.text}` : ""))))
        : null,
      asked.length
        ? h("div", {}, h("h3", {}, "The rules about this request"),
          h("ul", { class: "considered" }, [...asked].sort(byOutcome).map((r) => h("li", {},
            this.ruleLink(r.id, rules), ` (${r.effect}) `, h("span", { class: `outcome outcome-${r.outcome === "applied" ? "applied" : "other"}` }, r.outcome)))))
        : null,
      unrelated ? h("p", { class: "help" }, `${count(unrelated, "other rule")} of the set ${unrelated === 1 ? "is" : "are"} not about this request.`) : null,
      explanation?.text ? h("div", {}, h("h3", {}, "Why, in words"), h("pre", { class: "explanation" }, explanation.text)) : null,
      h("p", { class: "help" }, `${count(rules.filter((r) => r.outcome === "applied").length, "rule")} applied; marked in the editor.`),
    );
  }

  /** what the privacy policy says in the clauses the rule cites (clauses.yaml), to read beside the rule */
  clauses(id, rules) {
    const quoted = rules.find((r) => r.id === id)?.clauses || [];
    if (!quoted.length) return null;
    return h("details", { class: "clauses" },
      h("summary", {}, `What the privacy policy says (${quoted.map((c) => c.number).join(", ")})`),
      quoted.map((c) => h("blockquote", { class: "clause" }, h("strong", {}, `${c.number} `),
        c.text.split("\n\n").map((paragraph) => h("p", {}, paragraph)))));
  }

  ruleLink(id, rules) {
    const where = rules.find((r) => r.id === id && r.file);
    if (!where) return h("code", {}, id);
    return h("button", { type: "button", class: "link rule-link", onclick: () => this.studio.goTo(where), title: `open ${id} in the editor` }, h("code", {}, id));
  }

  say(...children) {
    fill(this.el.result, children);
  }
}
