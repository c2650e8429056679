// The hover's markdown: a small subset, built node by node; whatever the server's text holds becomes text, never
// markup. Checked on a stand-in for the DOM (elements are tag names with children; text nodes are strings).
import assert from "node:assert/strict";
import { test } from "node:test";
import { renderMarkdown } from "../src/markdown.js";

const fakeDocument = {
  createElement: (tag) => ({
    tag,
    children: [],
    className: "",
    set textContent(text) {
      this.children = [String(text)];
    },
    append(...nodes) {
      this.children.push(...nodes);
    },
  }),
  createTextNode: (text) => String(text),
};

/** the tree as `tag(child, ...)`, text quoted */
function shape(node) {
  return typeof node === "string" ? JSON.stringify(node) : `${node.tag}(${node.children.map(shape).join(", ")})`;
}

const render = (markdown) => shape(renderMarkdown(markdown, fakeDocument));

test("paragraphs, code, bold and emphasis", () => {
  assert.equal(render("**Name** (data category `user.name`)\nUser's *real* name."),
    'div(p(strong("Name"), " (data category ", code("user.name"), ") User\'s ", em("real"), " name."))');
});

test("a clause quoted from the privacy policy, a heading and a list", () => {
  assert.equal(render("### §2.5\n> We may email you\n> about the Service\n- one\n- two"),
    'div(p(strong("§2.5")), blockquote("We may email you about the Service"), ul(li("one"), li("two")))');
});

test("fenced code keeps its lines as text", () => {
  assert.equal(render("```\na == 1\n<b>\n```"), 'div(pre("a == 1\\n<b>"))');
});

test("markup in the server's text stays text", () => {
  const hostile = '<img src=x onerror="alert(1)"> **<script>x</script>** `<i>`';
  const tree = render(hostile);
  assert.ok(!/\bimg\(|\bscript\(|\bi\(/.test(tree), tree);
  assert.ok(tree.includes('"<img src=x onerror=\\"alert(1)\\"> "'), tree);
  assert.ok(tree.includes('strong("<script>x</script>")'), tree);
});
