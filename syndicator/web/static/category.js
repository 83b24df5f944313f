// Category pages: one-click copy of a feed address. Progressive enhancement only: without
// this script the addresses are read-only fields a person selects and copies by hand, so
// the buttons stay hidden until it runs. No inline code anywhere (the page's CSP forbids it).
"use strict";

(function () {
  function copied(button) {
    var label = button.textContent;
    button.textContent = button.getAttribute("data-done");
    setTimeout(function () {
      button.textContent = label;
    }, 2000);
  }

  function copyBySelection(field, button) {
    field.focus();
    field.select();
    try {
      if (document.execCommand("copy")) copied(button);
    } catch (e) {
      // The address stays selected: the reader copies it by hand.
    }
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) return;
    field.addEventListener("focus", function () {
      field.select();
    });
    button.hidden = false;
    button.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(
          function () {
            copied(button);
          },
          function () {
            copyBySelection(field, button);
          }
        );
      } else {
        copyBySelection(field, button);
      }
    });
  });
})();
