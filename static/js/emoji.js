/* The composer's Emoji button (SPEC §5): a picker in a popover anchored to the button;
 * the chosen emoji goes in at the textarea's caret (replacing a selection) and the
 * attendant keeps typing. The picker is emoji-picker-element, vendored with its emoji
 * data (static/vendor/), loaded on the first open so the inbox pays nothing before.
 *
 * The button opens the popover by itself (popovertarget): the browser gives us Esc, a
 * click outside and aria-expanded. This module fills, places and empties it. Delegated
 * from the document, because live.js may swap the composer in. */

const VENDOR = new URL("../vendor/", import.meta.url);
const POPOVER_ID = "emoji-popover";
const GAP = 6;  // px between the button and the popover

function localeOfPage() {
  // Our emoji data and interface strings exist in Portuguese and English.
  return (document.documentElement.lang || "pt-BR").toLowerCase().startsWith("pt") ? "pt" : "en";
}

let pickerModule = null;
function loadPicker() {
  if (!pickerModule) {
    const locale = localeOfPage();
    pickerModule = Promise.all([
      import(new URL("emoji-picker-element/picker.js", VENDOR).href),
      locale === "pt"
        ? import(new URL("emoji-picker-element/i18n/pt_BR.js", VENDOR).href).then(function (m) { return m.default; })
        : null,  // the element's own strings are English
    ]).then(function (loaded) {
      return {
        Picker: loaded[0].default,
        options: {
          locale: locale,
          // Never the package's default (a CDN): our copy, served by us.
          dataSource: new URL("emoji-picker-element-data/" + locale + "/cldr/data.json", VENDOR).href,
          ...(loaded[1] ? { i18n: loaded[1] } : {}),
        },
      };
    });
    pickerModule.catch(function () { pickerModule = null; });  // a later open tries again
  }
  return pickerModule;
}

/* Put ``text`` where the caret is, as typing it would: execCommand keeps the browser's
 * undo history (Ctrl+Z takes the emoji back out) and fires the input event the composer
 * listens to (autosize, quick replies). */
function insertAtCaret(textarea, text) {
  const start = textarea.selectionStart;
  const end = textarea.selectionEnd;
  textarea.focus();
  textarea.setSelectionRange(start, end);
  if (!document.execCommand("insertText", false, text)) {
    textarea.setRangeText(text, start, end, "end");
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }
}

function opener(popover) {
  return document.querySelector('[popovertarget="' + popover.id + '"]');
}

/* Above the button (the composer sits at the bottom of the window), left edges aligned,
 * kept inside the window. */
function place(popover) {
  const button = opener(popover);
  if (!button) return;
  const rect = button.getBoundingClientRect();
  // Before it shows (beforetoggle) it has no box yet: the stylesheet's width then.
  const width = popover.offsetWidth || parseFloat(getComputedStyle(popover).width) || 360;
  popover.style.left = Math.max(GAP, Math.min(rect.left, window.innerWidth - width - GAP)) + "px";
  popover.style.bottom = (window.innerHeight - rect.top + GAP) + "px";
  popover.style.maxHeight = (rect.top - 2 * GAP) + "px";
}

function fill(popover) {
  if (popover.querySelector("emoji-picker")) return Promise.resolve(popover.querySelector("emoji-picker"));
  return loadPicker().then(function (loaded) {
    if (popover.querySelector("emoji-picker")) return popover.querySelector("emoji-picker");
    const picker = new loaded.Picker(loaded.options);
    picker.classList.add("light");  // our page has no dark theme yet
    picker.addEventListener("emoji-click", function (event) {
      const textarea = document.getElementById("composer");
      const emoji = event.detail.unicode;
      popover.hidePopover();
      if (textarea && emoji) insertAtCaret(textarea, emoji);
    });
    // Keys typed into the picker's search are not the page's shortcuts (j, k, r, /): the
    // picker lives in a shadow root, so the document sees the <emoji-picker> host as the
    // target and tickets.js would not know someone is typing. Esc still closes the popover.
    popover.addEventListener("keydown", function (event) { event.stopPropagation(); });
    popover.appendChild(picker);
    return picker;
  });
}

function searchOf(picker) {
  return picker && picker.shadowRoot && picker.shadowRoot.getElementById("search");
}

function focusSearch(picker) {
  const search = searchOf(picker);
  if (search) search.focus();
}

function clearSearch(popover) {
  const search = searchOf(popover.querySelector("emoji-picker"));
  if (search && search.value) {
    search.value = "";
    search.dispatchEvent(new Event("input", { bubbles: true }));
  }
}

function onToggle(event) {
  const popover = event.target;
  if (popover.id !== POPOVER_ID) return;
  const button = opener(popover);
  // Chromium tells screen readers of a popovertarget by itself; Playwright and others read the attribute.
  if (button && event.type === "toggle") button.setAttribute("aria-expanded", String(event.newState === "open"));
  if (event.newState !== "open") {
    if (event.type === "toggle") clearSearch(popover);  // each open starts at the categories
    return;
  }
  if (event.type === "beforetoggle") {
    place(popover);  // before the first frame, so it never shows elsewhere
  } else {
    fill(popover).then(function (picker) {
      if (!popover.matches(":popover-open")) return;
      place(popover);  // now that it has its size
      focusSearch(picker);
    });
  }
}

function setup() {
  // These do not bubble: listen while they go down.
  document.addEventListener("beforetoggle", onToggle, true);
  document.addEventListener("toggle", onToggle, true);
  window.addEventListener("resize", function () {
    const popover = document.getElementById(POPOVER_ID);
    if (popover && popover.matches(":popover-open")) place(popover);
  });
}

setup();
