/* Colours chosen by admins (sectors, tags) arrive as data-sector-color / data-tag-color
 * and become the --sector-color / --tag-color custom properties here: an inline style attribute
 * would need 'unsafe-inline' in the Content-Security-Policy, setting a property through the
 * CSSOM does not. Fragments live.js swaps in later are coloured as they arrive. The values
 * are plain hex already (the css_color filter). */
(function () {
  "use strict";

  var COLOURS = { "data-sector-color": "--sector-color", "data-tag-color": "--tag-color" };
  var SELECTOR = Object.keys(COLOURS).map(function (name) { return "[" + name + "]"; }).join(",");

  function paint(element) {
    Object.keys(COLOURS).forEach(function (name) {
      var value = element.getAttribute(name);
      if (value !== null) element.style.setProperty(COLOURS[name], value);
    });
  }

  function paintWithin(root) {
    if (root.matches && root.matches(SELECTOR)) paint(root);
    if (root.querySelectorAll) root.querySelectorAll(SELECTOR).forEach(paint);
  }

  function start() {
    paintWithin(document);
    new MutationObserver(function (records) {
      records.forEach(function (record) {
        if (record.type === "attributes") paint(record.target);
        else record.addedNodes.forEach(function (node) { if (node.nodeType === 1) paintWithin(node); });
      });
    }).observe(document.documentElement, {
      childList: true, subtree: true, attributes: true, attributeFilter: Object.keys(COLOURS),
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
