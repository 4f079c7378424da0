/* Time-zone pickers (profile, user form): the search box above the <select> narrows
 * its ~600 options as one types. Accents, case and "_" do not matter, every word
 * must match, and "-3" or "utc-03" finds UTC−03:00. The first match is chosen unless
 * the current choice still matches; with no match the choice stays as it was.
 * Keys in the box: ↓ or Enter go to the list (Enter never submits the form), Esc
 * clears the search. The value sent stays the IANA name; without JS it is a plain select. */
(function () {
  "use strict";

  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/\u2212/g, "-")
      .replace(/[_/]/g, " ").toLowerCase();
  }

  function searchable(option) {
    const text = fold(option.textContent + " " + option.value);
    return text + " " + text.replace(/([+-])0(\d)/g, "$1$2");  // "utc-03:00" also as "utc-3:00"
  }

  function setUp(box) {
    const select = document.getElementById(box.dataset.zoneSearch);
    const found = document.getElementById(box.getAttribute("aria-describedby"));
    if (!select) return;
    // Every group with its options, kept aside to put back those that match.
    const groups = Array.from(select.children).map(function (node) {
      const options = node.tagName === "OPTGROUP" ? Array.from(node.children) : [node];
      return { node: node, options: options.map(function (o) { return { node: o, text: searchable(o) }; }) };
    });

    function show(words) {
      const current = select.value;
      let matches = 0;
      let first = null;
      let keep = false;
      const shown = [];
      groups.forEach(function (group) {
        const hits = group.options.filter(function (o) {
          return words.every(function (w) { return o.text.indexOf(w) !== -1; });
        });
        if (!hits.length) return;
        matches += hits.length;
        first = first || hits[0].node;
        if (hits.some(function (o) { return o.node.value === current; })) keep = true;
        shown.push([group, hits]);
      });
      if (!matches) {  // nothing matches: leave the list (and the choice) alone
        found.textContent = box.dataset.none;
        return;
      }
      select.replaceChildren();
      shown.forEach(function (entry) {
        const group = entry[0];
        const nodes = entry[1].map(function (o) { return o.node; });
        if (group.node.tagName === "OPTGROUP") {
          group.node.replaceChildren.apply(group.node, nodes);
          select.appendChild(group.node);
        } else {
          select.appendChild(group.node);
        }
      });
      select.value = keep ? current : first.value;
      found.textContent = words.length ? box.dataset.found.replace("{n}", matches) : "";
    }

    box.hidden = false;
    box.addEventListener("input", function () {
      show(fold(box.value).split(/\s+/).filter(Boolean));
    });
    box.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "Enter") {
        event.preventDefault();  // Enter here chooses, it does not send the form
        select.focus();
      } else if (event.key === "Escape" && box.value) {
        event.preventDefault();
        box.value = "";
        show([]);
      }
    });
  }

  document.querySelectorAll("input[data-zone-search]").forEach(setUp);
})();
