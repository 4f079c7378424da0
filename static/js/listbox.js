/* One suggestion list under the composer, shared by quick_replies.js and mentions.js:
 * a role=listbox the textarea controls (aria-expanded, aria-activedescendant), arrows
 * move the highlight, Enter or Tab choose, Esc closes, a click chooses before the
 * textarea's blur. The callers decide what to offer and what choosing does.
 *
 * Keys are taken on the document in the capture phase: a conversation swapped in by
 * live.js needs no new binding, and while a list is open its keys never reach the
 * composer's own Enter-sends handler.
 *
 * AtendimentoListbox({
 *   id, className,            the <ul>'s
 *   composer(),               { textarea, form } while the list may serve, else null
 *   label(form),              the list's accessible name
 *   option(item),             the nodes one option shows
 *   optionId(item, index),    optional: the option's id (else id-index)
 *   empty(form),              optional: the line shown when nothing matches (else no list)
 *   choose(item),             what picking an option does (it closes the list itself)
 * }) → { show(found, items), close(), isOpen() } */
(function () {
  "use strict";

  window.AtendimentoListbox = function (spec) {
    let list = null;      // the open <ul role="listbox">, or null
    let owner = null;     // the textarea it was opened for
    let items = [];
    let active = -1;      // the highlighted option

    function optionId(index) {
      return spec.optionId ? spec.optionId(items[index], index) : spec.id + "-" + index;
    }

    /* Only an open list resets the textarea: the other list may be serving it. */
    function close() {
      if (!list) return;
      list.remove();
      list = null; items = []; active = -1;
      owner.setAttribute("aria-expanded", "false");
      owner.removeAttribute("aria-activedescendant");
    }

    function render(found) {
      if (!items.length && !spec.empty) { close(); return; }
      if (!list) {
        list = document.createElement("ul");
        list.id = spec.id;
        list.className = spec.className;
        list.setAttribute("role", "listbox");
        list.setAttribute("aria-label", spec.label(found.form));
        found.form.appendChild(list);
        found.textarea.setAttribute("aria-controls", list.id);
        found.textarea.setAttribute("aria-autocomplete", "list");
      }
      owner = found.textarea;
      owner.setAttribute("aria-expanded", "true");
      list.replaceChildren();
      if (!items.length) {
        const none = document.createElement("li");
        none.className = "quick-replies-empty";  // the lists share the .quick-replies look
        none.textContent = spec.empty(found.form);
        list.appendChild(none);
      }
      items.forEach(function (item, index) {
        const option = document.createElement("li");
        option.id = optionId(index);
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", index === active ? "true" : "false");
        option.append(...spec.option(item));
        option.addEventListener("mousedown", function (event) {  // before the textarea's blur
          event.preventDefault();
          spec.choose(item);
        });
        list.appendChild(option);
      });
      if (active >= 0) {
        owner.setAttribute("aria-activedescendant", optionId(active));
        list.children[active].scrollIntoView({ block: "nearest" });
      }
    }

    /* A new answer for what is typed: the first option highlighted. */
    function show(found, answer) {
      items = answer || [];
      active = items.length ? 0 : -1;
      render(found);
    }

    document.addEventListener("keydown", function (event) {
      const found = spec.composer();
      if (!list || !found || event.target !== found.textarea || event.isComposing) return;
      const keys = { ArrowDown: 1, ArrowUp: -1 };
      if (event.key in keys && items.length) {
        active = (active + keys[event.key] + items.length) % items.length;
        render(found);
      } else if ((event.key === "Enter" || event.key === "Tab") && !event.shiftKey && active >= 0) {
        spec.choose(items[active]);
      } else if (event.key === "Enter" && !event.shiftKey) {
        close();  // nothing matches: what was typed is not sent by mistake
      } else if (event.key === "Escape") {
        close();
      } else {
        return;
      }
      event.preventDefault();
      event.stopPropagation();
    }, true);

    document.addEventListener("focusout", function (event) {
      if (event.target === owner) close();
    });

    return { show: show, close: close, isOpen: function () { return list !== null; } };
  };
})();
