// pdp counts positions as 1-based lines and 1-based columns in Unicode code points (pdp.base.source.Span);
// CodeMirror counts UTF-16 offsets into the document. These two functions are the only place that converts.

/** the document offset of `line`:`col` (1-based, code points), clamped into the document */
export function toOffset(doc, line, col) {
  if (!line || line < 1) return 0;
  if (line > doc.lines) return doc.length;
  const text = doc.line(line);
  let offset = 0;
  let points = 1;
  for (const ch of text.text) {
    if (points >= (col || 1)) break;
    offset += ch.length;
    points += 1;
  }
  return text.from + offset;
}

/** the 1-based line and code-point column of a document offset */
export function toPosition(doc, offset) {
  const line = doc.lineAt(offset);
  const before = line.text.slice(0, offset - line.from);
  return { line: line.number, col: [...before].length + 1 };
}

/** the range a diagnostic or span covers: to its end when it has one, else the word (or character) at its start */
export function rangeOf(doc, where) {
  const from = toOffset(doc, where.line, where.col);
  if (where.end_line) {
    const to = toOffset(doc, where.end_line, where.end_col);
    if (to > from) return { from, to };
  }
  const line = doc.lineAt(from);
  const rest = line.text.slice(from - line.from);
  const word = /^[\w.§"-]+/u.exec(rest);
  const length = word ? word[0].length : Math.min(1, rest.length);
  return { from, to: from + length };
}
