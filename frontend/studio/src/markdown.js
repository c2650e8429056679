// A small subset of markdown rendered into DOM nodes built one by one: paragraphs, headings, bullet lists,
// quotes (a clause of the privacy policy), fenced code, `code`, **bold** and *emphasis*. Server text only ever becomes text nodes (never innerHTML),
// so a policy's words cannot inject markup into the page.

export function renderMarkdown(markdown, doc = document) {
  const root = doc.createElement("div");
  root.className = "markdown";
  const lines = String(markdown ?? "").split("\n");
  let paragraph = [];
  let list = null;
  const flush = () => {
    if (paragraph.length) {
      const p = doc.createElement("p");
      appendInline(p, paragraph.join(" "), doc);
      root.append(p);
      paragraph = [];
    }
    list = null;
  };
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i];
    if (/^```/.test(line)) {
      flush();
      const pre = doc.createElement("pre");
      const body = [];
      for (i += 1; i < lines.length && !/^```/.test(lines[i]); i += 1) body.push(lines[i]);
      pre.textContent = body.join("\n");
      root.append(pre);
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      flush();
      const h = doc.createElement("strong");
      h.className = "markdown-heading";
      appendInline(h, heading[2], doc);
      const p = doc.createElement("p");
      p.append(h);
      root.append(p);
      continue;
    }
    const quote = /^>\s?(.*)$/.exec(line);
    if (quote) {
      flush();
      const quoted = [quote[1]];
      while (i + 1 < lines.length && /^>/.test(lines[i + 1])) {
        i += 1;
        quoted.push(lines[i].replace(/^>\s?/, ""));
      }
      const block = doc.createElement("blockquote");
      appendInline(block, quoted.join(" "), doc);
      root.append(block);
      continue;
    }
    const item = /^\s*[-*]\s+(.*)$/.exec(line);
    if (item) {
      if (paragraph.length) flush();
      if (!list) {
        list = doc.createElement("ul");
        root.append(list);
      }
      const li = doc.createElement("li");
      appendInline(li, item[1], doc);
      list.append(li);
      continue;
    }
    if (!line.trim()) {
      flush();
      continue;
    }
    if (list) list = null;
    paragraph.push(line.trim());
  }
  flush();
  return root;
}

const INLINE = /(`[^`]+`|\*\*[^*]+\*\*|\*[^*\s][^*]*\*|_[^_\s][^_]*_)/;

function appendInline(parent, text, doc) {
  for (const part of text.split(INLINE)) {
    if (!part) continue;
    let node;
    if (part.startsWith("`") && part.endsWith("`") && part.length > 1) {
      node = doc.createElement("code");
      node.textContent = part.slice(1, -1);
    } else if (part.startsWith("**") && part.endsWith("**") && part.length > 3) {
      node = doc.createElement("strong");
      node.textContent = part.slice(2, -2);
    } else if ((part.startsWith("*") && part.endsWith("*")) || (part.startsWith("_") && part.endsWith("_"))) {
      node = doc.createElement("em");
      node.textContent = part.slice(1, -1);
    } else {
      node = doc.createTextNode(part);
    }
    parent.append(node);
  }
}
