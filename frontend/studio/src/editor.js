// The editor's parts: one EditorState a file (its own undo history), built with the extensions below. The
// language features ask the studio's API through the `features` object the page passes in (complete, hover,
// definition); coverage markers and the rules a decision named are kept in state fields, mapped through edits.
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { bracketMatching, indentOnInput } from "@codemirror/language";
import { yaml } from "@codemirror/lang-yaml";
import { lintGutter, lintKeymap } from "@codemirror/lint";
import { highlightSelectionMatches, searchKeymap } from "@codemirror/search";
import { EditorState, RangeSet, StateEffect, StateField } from "@codemirror/state";
import {
  Decoration,
  EditorView,
  GutterMarker,
  drawSelection,
  gutter,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  hoverTooltip,
  keymap,
  lineNumbers,
} from "@codemirror/view";
import editorCss from "./editor.css?inline";
import { pdpHighlight, pdpLanguage } from "./language.js";
import { renderMarkdown } from "./markdown.js";
import { rangeOf, toOffset, toPosition } from "./positions.js";

// ------------------------------------------------------------------ coverage in the gutter

/** what a test run saw of a line: its rule's coverage or its conditions' outcomes */
const COVERAGE_WORDS = {
  covered: ["✓", "a test reaches this rule"],
  uncovered: ["✗", "no test reaches this rule"],
  both: ["✓", "tests saw this condition both true and false"],
  "only-true": ["T", "tests saw this condition only true, never false"],
  "only-false": ["F", "tests saw this condition only false, never true"],
  never: ["✗", "no test evaluated this condition"],
};

class CoverageMarker extends GutterMarker {
  constructor(kind) {
    super();
    this.kind = kind;
  }

  eq(other) {
    return other.kind === this.kind;
  }

  toDOM() {
    const [sign, words] = COVERAGE_WORDS[this.kind];
    const span = document.createElement("span");
    span.className = `coverage coverage-${this.kind}`;
    span.textContent = sign;
    span.title = words;
    span.setAttribute("aria-label", words);
    return span;
  }
}

const MARKERS = Object.fromEntries(Object.keys(COVERAGE_WORDS).map((kind) => [kind, new CoverageMarker(kind)]));
// a line with several marks shows the one that most needs a look
const WORST_FIRST = ["uncovered", "never", "only-true", "only-false", "covered", "both"];

/** set the coverage marks of this file: `[{line, kind}]` */
export const setCoverage = StateEffect.define();

const coverageField = StateField.define({
  create: () => RangeSet.empty,
  update(marks, tr) {
    marks = marks.map(tr.changes);
    for (const effect of tr.effects) {
      if (!effect.is(setCoverage)) continue;
      const worst = new Map();
      for (const { line, kind } of effect.value) {
        if (line < 1 || line > tr.state.doc.lines) continue;
        const known = worst.get(line);
        if (!known || WORST_FIRST.indexOf(kind) < WORST_FIRST.indexOf(known)) worst.set(line, kind);
      }
      const ranges = [...worst.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([line, kind]) => MARKERS[kind].range(tr.state.doc.line(line).from));
      marks = RangeSet.of(ranges);
    }
    return marks;
  },
});

const coverageGutter = [
  coverageField,
  gutter({
    class: "cm-coverage-gutter",
    markers: (view) => view.state.field(coverageField),
    initialSpacer: () => MARKERS.covered,
  }),
];

// ------------------------------------------------------------------ the rules a decision named

/** mark the rules a decision named: `[{from, to, outcome}]` in this file's offsets */
export const setRuleMarks = StateEffect.define();

const ruleMarkField = StateField.define({
  create: () => Decoration.none,
  update(marks, tr) {
    marks = marks.map(tr.changes);
    for (const effect of tr.effects) {
      if (!effect.is(setRuleMarks)) continue;
      const decorations = [];
      for (const { from, to, outcome } of effect.value) {
        const applied = outcome === "applied";
        const cls = applied ? "cm-rule-applied" : "cm-rule-considered";
        const first = tr.state.doc.lineAt(from).number;
        const last = tr.state.doc.lineAt(Math.max(from, to - 1)).number;
        for (let n = first; n <= last; n += 1) {
          decorations.push(Decoration.line({ class: cls, attributes: { title: `this rule ${outcome}` } }).range(tr.state.doc.line(n).from));
        }
      }
      marks = Decoration.set(decorations, true);
    }
    return marks;
  },
  provide: (field) => EditorView.decorations.from(field),
});

// ------------------------------------------------------------------ language features from the API

function completionSource(features, path) {
  return async (context) => {
    const word = context.matchBefore(/[\w.§-]*/);
    if (!context.explicit && (!word || word.from === word.to) && !/[\s.,"[]$/.test(context.state.sliceDoc(context.pos - 1, context.pos))) {
      return null;
    }
    const where = toPosition(context.state.doc, context.pos);
    const items = await features.complete(path, where.line, where.col);
    if (!items || !items.length || context.aborted) return null;
    const doc = context.state.doc;
    const from = Math.min(...items.map((item) => rangeStart(doc, item, word?.from ?? context.pos)));
    return {
      from,
      options: items.map((item) => ({
        label: item.label,
        type: KIND_ICONS[item.kind] || "text",
        detail: item.detail || undefined,
        info: item.documentation ? () => renderMarkdown(item.documentation) : undefined,
        apply: (view, _completion, applyFrom, applyTo) => {
          const itemFrom = rangeStart(view.state.doc, item, applyFrom);
          view.dispatch({
            changes: { from: itemFrom, to: applyTo, insert: item.insert_text ?? item.label },
            selection: { anchor: itemFrom + (item.insert_text ?? item.label).length },
          });
        },
      })),
      validFor: /^[\w.§-]*$/,
    };
  };
}

/** where a completion's word starts: the API's `from`, else CodeMirror's */
function rangeStart(doc, item, fallback) {
  return item.from ? toOffset(doc, item.from.line, item.from.col) : fallback;
}

// CodeMirror's completion icons by the kind of word pdp completes
const KIND_ICONS = {
  category: "type", purpose: "interface", action: "method", attribute: "property", topic: "constant",
  register: "variable", rule: "function", condition: "function", keyword: "keyword", country: "enum", value: "constant",
};

function hoverSource(features, path) {
  return hoverTooltip(async (view, pos) => {
    const where = toPosition(view.state.doc, pos);
    const answer = await features.hover(path, where.line, where.col);
    if (!answer || !answer.markdown) return null;
    const doc = view.state.doc;
    const from = answer.from ? rangeOf(doc, { line: answer.from.line, col: answer.from.col, end_line: answer.to?.line, end_col: answer.to?.col }) : { from: pos, to: pos };
    return {
      pos: from.from,
      end: from.to,
      above: true,
      create: () => {
        const dom = document.createElement("div");
        dom.className = "cm-pdp-hover";
        dom.setAttribute("role", "tooltip");
        dom.append(renderMarkdown(answer.markdown));
        return { dom };
      },
    };
  }, { hoverTime: 350 });
}

function definitionKeys(features, path) {
  const go = (view) => {
    const where = toPosition(view.state.doc, view.state.selection.main.head);
    features.definition(path, where.line, where.col);
    return true;
  };
  return [
    keymap.of([{ key: "F12", run: go }]),
    EditorView.domEventHandlers({
      mousedown(event, view) {
        if (!(event.ctrlKey || event.metaKey) || event.button !== 0) return false;
        const pos = view.posAtCoords({ x: event.clientX, y: event.clientY });
        if (pos == null) return false;
        const where = toPosition(view.state.doc, pos);
        event.preventDefault();
        features.definition(path, where.line, where.col);
        return true;
      },
    }),
  ];
}

// ------------------------------------------------------------------ a file's state

export function languageFor(path) {
  if (path.endsWith(".pdp")) return [pdpLanguage, pdpHighlight];
  if (path.endsWith(".yaml") || path.endsWith(".yml")) return [yaml()];
  return [];
}

/** a new editor state for `path`, its text `text`; `onChange(path)` is told of every edit; `readOnly`: a text
    shown beside the set, never saved (the privacy policy) */
export function fileState(path, text, features, onChange, readOnly = false) {
  return EditorState.create({
    doc: text,
    extensions: [
      EditorState.readOnly.of(readOnly),
      lineNumbers(),
      highlightActiveLineGutter(),
      highlightSpecialChars(),
      history(),
      drawSelection(),
      indentOnInput(),
      bracketMatching(),
      closeBrackets(),
      highlightActiveLine(),
      highlightSelectionMatches(),
      EditorView.lineWrapping,
      lintGutter(),
      coverageGutter,
      ruleMarkField,
      languageFor(path),
      autocompletion({ override: [completionSource(features, path)], activateOnTypingDelay: 150 }),
      hoverSource(features, path),
      definitionKeys(features, path),
      keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...searchKeymap, ...historyKeymap, ...completionKeymap, ...lintKeymap]),
      // Tab is left to move the focus (keyboard users must be able to leave the editor): no indentWithTab
      EditorView.contentAttributes.of({ "aria-label": `Text of ${path}${readOnly ? " (read only)" : ""}` }),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) onChange(path);
      }),
    ],
  });
}

/** the editor view, in a shadow root of `host`: the page's Content-Security-Policy allows no <style> element, so
    CodeMirror's styles (and the editor's own, editor.css) go into the shadow root's adopted style sheets */
export function mountEditor(host, state) {
  const shadow = host.shadowRoot || host.attachShadow({ mode: "open" });
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(editorCss);
  shadow.adoptedStyleSheets = [sheet];
  const mount = document.createElement("div");
  mount.className = "editor-mount";
  shadow.append(mount);
  return new EditorView({ state, parent: mount, root: shadow });
}
