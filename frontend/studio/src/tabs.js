// The tools as tabs (WAI-ARIA's tabs pattern): one tab stop for the list, arrow keys, Home and End move between
// tabs, and each tab shows its own panel.

export function tabs(list) {
  const all = [...list.querySelectorAll('[role="tab"]')];
  const show = (tab, focus = true) => {
    for (const other of all) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
    }
    if (focus) tab.focus();
  };
  for (const tab of all) {
    tab.addEventListener("click", () => show(tab));
    tab.addEventListener("keydown", (event) => {
      const at = all.indexOf(tab);
      const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: all.length - 1 }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      show(all[(next + all.length) % all.length]);
    });
  }
  /** show the tab whose id is `id` (focus stays where it is) */
  return (id) => show(document.getElementById(id), false);
}
