// pdp's positions (1-based line, 1-based column in code points) against CodeMirror's UTF-16 offsets, with
// characters outside the Basic Multilingual Plane (two UTF-16 units, one code point). Run by node's own test
// runner (`node --test frontend/studio/test`), from tests/test_studio_frontend.py; no package needed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { rangeOf, toOffset, toPosition } from "../src/positions.js";

/** the part of CodeMirror's Text the conversions use: lines, line(n), lineAt(offset), length */
function doc(text) {
  const lines = [];
  let from = 0;
  text.split("\n").forEach((line, index) => {
    lines.push({ number: index + 1, from, to: from + line.length, text: line });
    from += line.length + 1;
  });
  return {
    lines: lines.length,
    length: text.length,
    line: (n) => lines[n - 1],
    lineAt: (offset) => lines.find((l) => offset >= l.from && offset <= l.to),
  };
}

const TEXT = 'allow a "📧 mail"\n  of user.contact.emial\n§ 😀😀 x';

test("a column counts code points, an offset UTF-16 units", () => {
  const d = doc(TEXT);
  assert.equal(toOffset(d, 1, 1), 0);
  assert.equal(toOffset(d, 1, 12), TEXT.indexOf("mail"));  // `allow a "📧 ` is 11 code points, 12 units
  assert.equal(toOffset(d, 3, 6), TEXT.indexOf("x"));  // `§ 😀😀 ` is 5 code points, 7 units
  assert.deepEqual(toPosition(d, TEXT.indexOf("mail")), { line: 1, col: 12 });
  assert.deepEqual(toPosition(d, TEXT.indexOf("x")), { line: 3, col: 6 });
});

test("every offset between characters goes there and back", () => {
  const d = doc(TEXT);
  for (let offset = 0; offset <= TEXT.length; offset += 1) {
    const isLowSurrogate = /[\uDC00-\uDFFF]/.test(TEXT[offset] ?? "");
    if (isLowSurrogate) continue; // inside a character: no pdp position names it
    const { line, col } = toPosition(d, offset);
    assert.equal(toOffset(d, line, col), offset, `offset ${offset}`);
  }
});

test("a position past the text is clamped into it", () => {
  const d = doc(TEXT);
  assert.equal(toOffset(d, 99, 1), TEXT.length);
  assert.equal(toOffset(d, 2, 999), d.line(2).to);
  assert.equal(toOffset(d, 0, 0), 0);
});

test("a range is the span's end when it has one, else the word at its start", () => {
  const d = doc(TEXT);
  const start = TEXT.indexOf("user");
  assert.deepEqual(rangeOf(d, { line: 2, col: 6, end_line: 2, end_col: 24 }), { from: start, to: start + 18 });
  assert.deepEqual(rangeOf(d, { line: 2, col: 6 }), { from: start, to: start + "user.contact.emial".length });
  // an empty span (end = start) still marks the word
  assert.deepEqual(rangeOf(d, { line: 2, col: 6, end_line: 2, end_col: 6 }), { from: start, to: start + 18 });
});
