// pdp's syntax for the editor: a stream tokenizer over the words of the grammar (src/pdp/lang/grammar/pdp.lark).
// Highlighting only: what is wrong with a file is the checker's to say (diagnostics come from /check).
import { HighlightStyle, StreamLanguage, syntaxHighlighting } from "@codemirror/language";
import { tags as t } from "@lezer/highlight";

// the words that open a statement
const STATEMENTS = new Set(["policy", "allow", "deny", "lookup", "ledger", "condition"]);
// the words that open a clause of a statement
const CLAUSES = new Set([
  "version", "effective", "title", "model", "cite", "to", "for", "of", "when", "unless", "oblige", "advise",
  "overrides", "accept", "because", "if", "unlisted", "request", "states", "wins", "except", "fills", "from", "with",
]);
// the words of a condition
const OPERATOR_WORDS = new Set([
  "and", "or", "not", "in", "under", "matches", "has", "any", "all", "is", "present", "absent", "older", "than",
]);
const UNITS = new Set(["day", "days", "week", "weeks", "month", "months", "year", "years", "hour", "hours", "minute", "minutes"]);

const NAME = /^[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*/;

function token(stream, state) {
  if (stream.eatSpace()) return null;
  if (stream.peek() === "#") {
    stream.skipToEnd();
    return "comment";
  }
  if (stream.peek() === '"') {
    stream.next();
    let escaped = false;
    for (let ch = stream.next(); ch != null; ch = stream.next()) {
      if (ch === '"' && !escaped) break;
      escaped = !escaped && ch === "\\";
    }
    state.after = null;
    return "string";
  }
  if (stream.match(/^\d{4}-\d{2}-\d{2}(?:T[\d:.]+(?:Z|[+-]\d{2}:\d{2})?)?/)) return "string.special";
  if (stream.match(/^-?\d+(?:\.\d+)?/)) return "number";
  if (stream.match(/^(?:==|!=|<=|>=|<|>|=)/)) return "operator";
  if (stream.match(/^[-+]/)) return "operator";
  const word = stream.match(NAME);
  if (word) {
    const text = word[0];
    const after = state.after;
    state.after = null;
    if (after === "name") return "variableName.definition";
    if (STATEMENTS.has(text) && stream.column() === 0) {
      // the id after `allow`, `deny` and `condition` names what the statement defines
      state.after = text === "allow" || text === "deny" || text === "condition" ? "name" : null;
      return "definitionKeyword";
    }
    if (text === "true" || text === "false") return "bool";
    if (CLAUSES.has(text)) return "keyword";
    if (OPERATOR_WORDS.has(text)) return "operatorKeyword";
    if (UNITS.has(text)) return "unit";
    if (text.startsWith("data.")) return "variableName.special";
    return "propertyName";
  }
  stream.next();
  return "punctuation";
}

export const pdpLanguage = StreamLanguage.define({
  name: "pdp",
  startState: () => ({ after: null }),
  token,
  languageData: { commentTokens: { line: "#" } },
});

// colours with at least 4.5:1 contrast on the editor's white background
export const pdpHighlight = syntaxHighlighting(
  HighlightStyle.define([
    { tag: t.comment, color: "#5c6370", fontStyle: "italic" },
    { tag: t.string, color: "#0a6b2e" },
    { tag: t.special(t.string), color: "#8a4b00" },
    { tag: t.number, color: "#8a4b00" },
    { tag: t.bool, color: "#8a4b00", fontWeight: "bold" },
    { tag: t.definitionKeyword, color: "#6f2da8", fontWeight: "bold" },
    { tag: t.keyword, color: "#1d4ed8", fontWeight: "bold" },
    { tag: t.operatorKeyword, color: "#9d174d" },
    { tag: t.operator, color: "#9d174d" },
    { tag: t.definition(t.variableName), color: "#111827", fontWeight: "bold", textDecoration: "underline" },
    { tag: t.special(t.variableName), color: "#0e7490" },
    { tag: t.propertyName, color: "#1f2937" },
    { tag: t.unit, color: "#8a4b00" },
  ]),
);

export { token as pdpToken };
